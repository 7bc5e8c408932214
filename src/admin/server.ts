// The admin listener: /stats (live HTML), /stats.json, /stats/events (SSE), /metrics
// (Prometheus), /healthz and the runtime API under /api/. Off unless `admin:` is configured.

import type { AdminConfig } from "../config/model.ts";
import { setAdminState, setWeight } from "../health/machine.ts";
import { type AdminCommands, handleApi, json, jsonError } from "./api.ts";
import { adminConfigError, authorized, bindHostname } from "./auth.ts";
import { renderMetrics } from "./metrics.ts";
import { STATS_PAGE } from "./page.ts";
import { RateSampler } from "./rates.ts";
import type { AdminRuntime } from "./runtime.ts";
import { isReady, statsView } from "./snapshot.ts";

export type { AdminRuntime } from "./runtime.ts";

export interface AdminServer {
  addr: Deno.NetAddr;
  stop(): Promise<void>;
}

export interface AdminOptions {
  /** Rate/chart sample period and SSE push period; default 1000 ms. */
  samplePeriodMs?: number;
  /** Replaces the health room's setAdminState/setWeight (tests only). */
  commands?: AdminCommands;
}

const SSE_DEBOUNCE_MS = 50;

/** Thrown when the admin section is unsafe (non-loopback bind without a token). */
export class AdminConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminConfigError";
  }
}

/**
 * Starts the admin listener on `admin.bind`. Refuses (AdminConfigError) a non-loopback bind
 * without a token; with a token every request must carry `Authorization: Bearer TOKEN`
 * (or HTTP Basic with the token as password, for browsers) and gets 401 otherwise.
 */
export function startAdmin(
  runtime: AdminRuntime,
  admin: AdminConfig,
  opts: AdminOptions = {},
): Promise<AdminServer> {
  const problem = adminConfigError(admin);
  if (problem) return Promise.reject(new AdminConfigError(problem));
  const commands = opts.commands ?? { setAdminState, setWeight };
  const period = opts.samplePeriodMs ?? 1000;
  const rates = new RateSampler(() => runtime.state, period);
  const encoder = new TextEncoder();

  // --- live updates: one snapshot per tick (and soon after each state event), to all clients
  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let pending: ReturnType<typeof setTimeout> | undefined;
  const push = () => {
    pending = undefined;
    if (clients.size === 0) return;
    const chunk = encoder.encode(
      `event: stats\ndata: ${JSON.stringify(statsView(runtime, rates, true))}\n\n`,
    );
    for (const c of clients) {
      try {
        c.enqueue(chunk);
      } catch {
        clients.delete(c);
      }
    }
  };
  const schedulePush = () => {
    if (pending === undefined) pending = setTimeout(push, SSE_DEBOUNCE_MS);
  };
  const unsubscribe = runtime.state.on(schedulePush);
  rates.start();
  const ticker = setInterval(push, period);

  const events = (): Response => {
    let me: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        me = controller;
        clients.add(controller);
        controller.enqueue(encoder.encode("retry: 2000\n\n"));
        schedulePush();
      },
      cancel() {
        clients.delete(me);
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  };

  const handler = async (req: Request): Promise<Response> => {
    // /healthz says only ready / starting / stopping: orchestrator probes (Kubernetes, Docker
    // HEALTHCHECK) get it without the token, as HAProxy's monitor-uri.
    if (
      (req.method === "GET" || req.method === "HEAD") && new URL(req.url).pathname === "/healthz"
    ) {
      const ok = isReady(runtime);
      const why = runtime.stopping ? "stopping" : ok ? "ok" : "starting";
      return new Response(why + "\n", {
        status: ok ? 200 : 503,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    }
    if (!authorized(req, admin.token)) {
      const h = new Headers({ "content-type": "application/json; charset=utf-8" });
      h.append("www-authenticate", 'Basic realm="wtproxy admin", charset="UTF-8"');
      h.append("www-authenticate", 'Bearer realm="wtproxy admin"');
      return new Response(
        JSON.stringify({ error: "unauthorized: send 'Authorization: Bearer TOKEN'" }) + "\n",
        { status: 401, headers: h },
      );
    }
    const url = new URL(req.url);
    const path = url.pathname;
    const isGet = req.method === "GET" || req.method === "HEAD";
    const api = await handleApi(req, path, runtime, commands, rates);
    if (api) return api;
    if (!isGet) return jsonError(405, `method not allowed on ${path}; use GET`, { allow: "GET" });
    switch (path) {
      case "/":
      case "/stats/":
        return new Response(null, { status: 302, headers: { location: "/stats" } });
      case "/stats":
        return new Response(STATS_PAGE, {
          headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
        });
      case "/stats.json":
        return json(statsView(runtime, rates, url.searchParams.has("history")));
      case "/stats/events":
        return events();
      case "/metrics":
        return new Response(renderMetrics(runtime), {
          headers: {
            "content-type": "text/plain; version=0.0.4; charset=utf-8",
            "cache-control": "no-store",
          },
        });
    }
    return jsonError(404, `not found: ${path} (see /stats, /metrics, /healthz, /api)`);
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: bindHostname(admin.bind),
      port: admin.bind.port,
      onListen: () => {},
      onError: (err) => {
        console.error(`admin: ${err}`);
        return jsonError(500, "internal error");
      },
    }, handler);
  } catch (err) {
    cleanup();
    return Promise.reject(err);
  }

  function cleanup() {
    unsubscribe();
    rates.stop();
    clearInterval(ticker);
    if (pending !== undefined) clearTimeout(pending);
    pending = undefined;
    for (const c of clients) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    clients.clear();
  }

  let stopped: Promise<void> | null = null;
  return Promise.resolve({
    addr: server.addr,
    stop() {
      if (!stopped) {
        cleanup();
        stopped = server.shutdown();
      }
      return stopped;
    },
  });
}
