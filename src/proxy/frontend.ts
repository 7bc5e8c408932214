// Client-side listeners: one Deno.serve per bind address. A wildcard bind (0.0.0.0, *, ::)
// expands over Deno.networkInterfaces(), so that every listener knows the local address its
// clients connected to (Deno.serve does not expose it): that is X-Original-To.

import type { Bind } from "../config/model.ts";
import { BodyAbort } from "../upstream/exchange.ts";
import { errorResponse } from "./errors.ts";
import { forwardRequest, type ProxyCore } from "./forward.ts";
import type { Counters } from "../state.ts";
import type { Gate } from "./gate.ts";
import { buildRequestInfo } from "./info.ts";

export interface RuntimeCore extends ProxyCore {
  /** Requests currently being handled (drain waits for 0). */
  active: number;
}

export interface ListenerHandle {
  /** The frontend served; a reload may hand a kept listener to a renamed frontend. */
  frontend: string;
  /** The bind this listener comes from ("host:port" as configured), for reload diffs. */
  bindKey: string;
  hostname: string;
  port: number;
  server: Deno.HttpServer<Deno.NetAddr>;
  abort: AbortController;
}

/** The concrete local addresses a bind listens on (a wildcard expands to every interface). */
export function bindAddresses(bind: Bind): string[] {
  if (!bind.wildcard) return [bind.host];
  let ifaces: Deno.NetworkInterfaceInfo[];
  try {
    ifaces = Deno.networkInterfaces();
  } catch {
    // No --allow-sys: listen on the wildcard itself (X-Original-To then says 0.0.0.0 / ::).
    return [bind.family === "any6" ? "::" : "0.0.0.0"];
  }
  const out: string[] = [];
  for (const i of ifaces) {
    if (i.family === "IPv4") out.push(i.address);
    else if (bind.family === "any6" && !i.address.toLowerCase().startsWith("fe80:")) {
      out.push(i.address); // link-local addresses need a scope id: not bound
    }
  }
  return [...new Set(out)];
}

/** Starts one Deno.serve for `frontend` on hostname:port. */
export function startListener(
  core: RuntimeCore,
  frontend: string,
  bindKey: string,
  hostname: string,
  port: number,
  backlog: number,
): ListenerHandle {
  const abort = new AbortController();
  let local = { ip: hostname, port };
  let h: ListenerHandle | null = null;
  const server = Deno.serve({
    hostname,
    port,
    signal: abort.signal,
    tcpBacklog: backlog > 0 ? backlog : undefined,
    automaticCompression: false,
    onListen: () => {},
    onError: (err) => {
      if (err instanceof BodyAbort) return errorResponse(502); // already logged
      console.error(`wtproxy: ${frontend}: ${err instanceof Error ? err.stack : err}`);
      return errorResponse(502);
    },
  }, (req, info) => handle(core, h?.frontend ?? frontend, local, req, info.remoteAddr));
  local = { ip: hostname, port: server.addr.port };
  h = { frontend, bindKey, hostname, port: server.addr.port, server, abort };
  return h;
}

/**
 * The once-only release of a request's maxconn slots. Built apart from handle() so that the
 * closure (kept for a WebSocket tunnel's whole life) does not keep handle()'s scope, which
 * holds the Request and its RequestInfo.
 */
function slotRelease(
  core: RuntimeCore,
  feC: Counters,
  store: RuntimeCore["store"],
  feGate: Gate,
  globalGate: Gate,
): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    core.active--;
    feC.close();
    store.activeConnections--;
    feGate.release();
    globalGate.release();
  };
}

function handle(
  core: RuntimeCore,
  feName: string,
  local: { ip: string; port: number },
  req: Request,
  remote: Deno.NetAddr,
): Response | Promise<Response> {
  const snap = core.snapshot;
  const fe = snap.frontends.get(feName);
  if (!fe) return errorResponse(503);
  const info = buildRequestInfo(req, remote, local);
  const globalGate = snap.globalGate;
  const feGate = fe.gate;
  const store = core.store;
  const feC = fe.state.counters;
  const release = slotRelease(core, feC, store, feGate, globalGate);
  const enter = () => {
    core.active++;
    store.activeConnections++;
    feC.open();
  };
  const g = globalGate.acquire();
  if (g === true) {
    const f = feGate.acquire();
    if (f === true) {
      enter();
      return forwardRequest(core, fe, req, info, release);
    }
    return f.then(() => {
      enter();
      return forwardRequest(core, fe, req, info, release);
    });
  }
  return (async () => {
    await g;
    const f = feGate.acquire();
    if (f !== true) await f;
    enter();
    return forwardRequest(core, fe, req, info, release);
  })();
}
