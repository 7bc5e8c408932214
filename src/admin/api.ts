// The runtime API: HTTP + JSON equivalents of HAProxy's `show info`, `show servers state`,
// `set server B/S state ready|drain|maint` and `set server B/S weight N`.
// State changes go through the health room (src/health/machine.ts) so events, logs and
// trackers follow exactly as they do for check results.

import { HealthOpError, MAX_WEIGHT } from "../health/machine.ts";
import type { AdminState, StateStore } from "../state.ts";
import type { AdminRuntime } from "./runtime.ts";
import { backendView, infoView, type ServerView, serverView, wtOn } from "./snapshot.ts";
import { parseDuration } from "../config/duration.ts";
import type { ServerState } from "../state.ts";
import type { RateSampler } from "./rates.ts";

/** The two health-room functions the API calls (injected so the room stays testable). */
export interface AdminCommands {
  setAdminState(store: StateStore, key: string, state: AdminState): unknown;
  setWeight(store: StateStore, key: string, weight: number): unknown;
}

const MAX_BODY = 64 * 1024;

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

export function jsonError(status: number, error: string, headers: HeadersInit = {}): Response {
  return json({ error }, status, headers);
}

function methodNotAllowed(allow: string): Response {
  return jsonError(405, `method not allowed; use ${allow}`, { allow });
}

async function readJson(req: Request): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const len = Number(req.headers.get("content-length") ?? "0");
  if (len > MAX_BODY) return { ok: false };
  let text: string;
  try {
    text = await req.text();
  } catch {
    return { ok: false };
  }
  if (text.length > MAX_BODY) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/**
 * Handles /api/... (path already stripped of its query); returns null for other paths.
 * Routes: GET /api/info, GET /api/servers, GET /api/backends, GET /api/servers/B/S,
 * POST /api/servers/B/S/state {"state": "ready"|"drain"|"maint"},
 * POST /api/servers/B/S/state {"state": "drain", "wait": "120s"} (answers once drained),
 * POST /api/servers/B/S/weight {"weight": 0..256 | "N%"}, GET /api/sessions?server=B/S.
 */
export async function handleApi(
  req: Request,
  path: string,
  rt: AdminRuntime,
  commands: AdminCommands,
  rates?: RateSampler,
): Promise<Response | null> {
  if (path !== "/api" && !path.startsWith("/api/")) return null;
  const parts = path.split("/").slice(2).map(decodeSegment);
  if (parts.some((p) => p === null)) return jsonError(400, "malformed percent-encoding in path");
  const seg = parts as string[];
  if (seg.length === 0 || seg[0] === "") {
    return json({
      endpoints: [
        "GET /api/info",
        "GET /api/servers",
        "GET /api/servers/BACKEND/SERVER",
        'POST /api/servers/BACKEND/SERVER/state {"state":"ready|drain|maint"}',
        'POST /api/servers/BACKEND/SERVER/state {"state":"drain","wait":"120s"}',
        'POST /api/servers/BACKEND/SERVER/weight {"weight":0-256 or "N%"}',
        "GET /api/backends",
        "GET /api/sessions?server=BACKEND/SERVER",
      ],
    });
  }
  const store = rt.state;
  const wt = wtOn(rt.config);
  if (seg[0] === "sessions" && seg.length === 1) {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET");
    return sessionsAnswer(req, rt);
  }
  if (seg[0] === "info" && seg.length === 1) {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET");
    return json(infoView(rt));
  }
  if (seg[0] === "backends" && seg.length === 1) {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET");
    return json(rt.config.backends.map((b) => backendView(b, store, rates, false, wt)));
  }
  if (seg[0] === "servers" && seg.length === 1) {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET");
    const out = [];
    for (const b of rt.config.backends) {
      for (const sc of b.servers) {
        const s = store.server(b.name, sc.name);
        if (s) out.push(serverView(s, rates, false, wt));
      }
    }
    return json(out);
  }
  if (seg[0] === "servers" && (seg.length === 3 || seg.length === 4)) {
    const [_, backend, server, action] = seg;
    if (!rt.config.backends.some((b) => b.name === backend)) {
      return jsonError(404, `no such backend: '${backend}' (server '${backend}/${server}')`);
    }
    const key = `${backend}/${server}`;
    const s = store.servers.get(key);
    if (!s) return jsonError(404, `no such server: '${key}'`);
    if (action === undefined) {
      if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET");
      return json(serverView(s, rates, false, wt));
    }
    if (action === "state") {
      if (req.method !== "POST" && req.method !== "PUT") return methodNotAllowed("POST");
      const body = await readJson(req);
      if (!body.ok) return jsonError(400, 'body must be JSON, e.g. {"state":"maint"}');
      const raw = field(body.value, "state");
      const state = typeof raw === "string" ? raw.toUpperCase() : "";
      if (state !== "READY" && state !== "DRAIN" && state !== "MAINT") {
        return jsonError(
          400,
          `bad state ${JSON.stringify(raw ?? null)}: use "ready", "drain" or "maint"`,
        );
      }
      const waitRaw = field(body.value, "wait");
      let waitMs: number | null = null;
      if (waitRaw !== undefined) {
        if (state !== "DRAIN") return jsonError(400, '"wait" goes with {"state":"drain"}');
        if (!wt) {
          return jsonError(400, '"wait" needs the Wt session table: set global.wt-sessions');
        }
        try {
          waitMs = parseDuration(waitRaw as string | number);
        } catch {
          return jsonError(
            400,
            `bad wait ${JSON.stringify(waitRaw)}: a duration such as "120s" or "2m"`,
          );
        }
      }
      const failed = apply(() => commands.setAdminState(store, key, state));
      if (failed) return failed;
      if (waitMs !== null) return await waitDrained(rt, s, waitMs, req.signal, rates);
      return json(serverView(s, rates, false, wt));
    }
    if (action === "weight") {
      if (req.method !== "POST" && req.method !== "PUT") return methodNotAllowed("POST");
      const body = await readJson(req);
      if (!body.ok) return jsonError(400, 'body must be JSON, e.g. {"weight":50}');
      const weight = parseWeight(field(body.value, "weight"), s.config.weight);
      if (weight === null) {
        return jsonError(
          400,
          `bad weight ${JSON.stringify(field(body.value, "weight") ?? null)}: ` +
            `use an integer 0-${MAX_WEIGHT} or "N%" of the configured weight`,
        );
      }
      const failed = apply(() => commands.setWeight(store, key, weight));
      return failed ?? json(serverView(s, rates, false, wt));
    }
    return jsonError(404, `unknown action '${action}' for server '${key}': use state or weight`);
  }
  return jsonError(404, `no such API endpoint: ${path}`);
}

/** GET /api/sessions?server=B/S: the server's live Wt sessions, ids masked. */
function sessionsAnswer(req: Request, rt: AdminRuntime): Response {
  const key = new URL(req.url).searchParams.get("server");
  if (!key) return jsonError(400, "give the server: /api/sessions?server=BACKEND/SERVER");
  const s = rt.state.servers.get(key);
  if (!s) return jsonError(404, `no such server: '${key}'`);
  if (!rt.sessions) {
    return jsonError(404, "the Wt session table is off: set global.wt-sessions");
  }
  return json({ server: key, sessions: rt.sessions.list(key) });
}

/**
 * Waits (at most `ms`) for a draining server's last Wt session to end. 200 with the server's
 * figures once drained; 409 with the sessions left when the wait ends, or when the server
 * leaves DRAIN meanwhile.
 */
function waitDrained(
  rt: AdminRuntime,
  s: ServerState,
  ms: number,
  signal: AbortSignal,
  rates?: RateSampler,
): Promise<Response> {
  const t0 = Date.now();
  const view = (): ServerView => serverView(s, rates, false, true);
  const answer = (): Response => {
    const v = view();
    const waitedMs = Date.now() - t0;
    if (v.drained) return json({ ...v, waitedMs });
    const why = s.effectiveAdmin !== "DRAIN"
      ? `server ${s.key} left the drain state (${s.effectiveAdmin})`
      : `server ${s.key} still has ${s.wtSessions} live Wt session(s) after ${waitedMs} ms`;
    return json({ error: why, ...v, waitedMs }, 409);
  };
  if (s.effectiveAdmin !== "DRAIN" || s.wtSessions === 0) return Promise.resolve(answer());
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off();
      signal.removeEventListener("abort", finish);
      resolve(answer());
    };
    const off = rt.state.on((e) => {
      if (e.key !== s.key) return;
      if (e.kind === "drained" || s.effectiveAdmin !== "DRAIN" || s.wtSessions === 0) finish();
    });
    const timer = setTimeout(finish, ms);
    signal.addEventListener("abort", finish, { once: true });
  });
}

/** Runs a health-room operation; its HealthOpError becomes a 400 with its message. */
function apply(op: () => unknown): Response | null {
  try {
    op();
    return null;
  } catch (err) {
    if (err instanceof HealthOpError) return jsonError(400, err.message);
    throw err;
  }
}

/** 0..256 as a number or digit string, or "N%" of the configured weight (HAProxy's form). */
export function parseWeight(v: unknown, configured: number): number | null {
  if (typeof v === "number") {
    return Number.isInteger(v) && v >= 0 && v <= MAX_WEIGHT ? v : null;
  }
  if (typeof v !== "string") return null;
  const m = /^\s*(\d{1,5})\s*(%?)\s*$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]);
  const w = m[2] ? Math.floor((configured * n) / 100) : n;
  return w >= 0 && w <= MAX_WEIGHT ? w : null;
}

function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
