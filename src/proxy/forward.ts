// One HTTP request through the proxy: the frontend's rules, the stats page, a WebSocket
// upgrade, or routed to a backend (its rules) and forwarded by an HttpTxn (txn.ts).

import type { AccessLogger, RequestLog } from "../log/record.ts";
import type { AdminState } from "../state.ts";
import { isWebSocketUpgrade, proxyWebSocket } from "../ws/proxy.ts";
import type { AttemptDeps } from "./attempt.ts";
import type { FrontendRt } from "./compile.ts";
import { wsDeps } from "./connect.ts";
import type { RequestInfo } from "./request.ts";
import type { ClientExchange } from "../downstream/types.ts";
import type { SessionObserver } from "../session/observer.ts";
import { requestRules } from "./rules.ts";
import type { StatsHandler } from "../admin/listen.ts";
import type { ServerSessions } from "./sessions.ts";
import { HttpTxn } from "./txn.ts";

export interface ProxyCore extends AttemptDeps {
  logger: AccessLogger;
  /** Where Wt session observations go (the session table, or a message to it); null = off. */
  sessions: SessionObserver | null;
  /** Exchanges in progress (aborted when a stop deadline passes). */
  inflight: Set<{ abort(): void }>;
  /** Aborted when the runtime stops for good (WebSocket tunnels close with 1001). */
  shutdown: AbortSignal;
  /** Admin state changes of the stats page's forms (a worker sends them to the control plane). */
  setAdminState?: (key: string, state: AdminState) => void;
  /** Streams by server, cut by `on-marked-down shutdown-sessions` (only such servers'). */
  serverSessions: ServerSessions;
}

/**
 * Handles one request of frontend `fe` (the maxconn slot is already held; `release` frees it
 * and must be called exactly once, when the response is over): its rules, the stats page, a
 * WebSocket upgrade, else routed to a backend and forwarded (HttpTxn).
 */
export function forwardRequest(
  core: ProxyCore,
  fe: FrontendRt,
  ex: ClientExchange,
  info: RequestInfo,
  release: () => void,
): Promise<void> {
  const txn = new HttpTxn(core, fe, ex, info, release);
  // Most requests have no rule, stats page or upgrade to go through: routed and forwarded
  // without one more suspended async frame per request.
  if (
    fe.rules.request === null && fe.stats === null &&
    !ex.head.connectionTokens.includes("upgrade")
  ) {
    const name = fe.router.route(info);
    const be = name === null ? undefined : core.snapshot.backends.get(name);
    if (be === undefined) return noBackend(txn);
    if (be.rules.request === null && be.stats === null) return txn.forward(name!);
    return throughRules(core, fe, ex, info, release, txn, name);
  }
  return throughRules(core, fe, ex, info, release, txn);
}

function noBackend(txn: HttpTxn): Promise<void> {
  txn.rec.tw = -1;
  txn.rec.tc = -1;
  return txn.fail(503, "SC--");
}

/**
 * The request with rules, stats pages or an upgrade to go through. `routed`: the backend
 * already chosen (no frontend rule could change the request since).
 */
async function throughRules(
  core: ProxyCore,
  fe: FrontendRt,
  ex: ClientExchange,
  info: RequestInfo,
  release: () => void,
  txn: HttpTxn,
  routed?: string | null,
): Promise<void> {
  const rec = txn.rec;
  // http-request rules of the frontend (a WebSocket upgrade goes through them too).
  const feRules = fe.rules.request;
  if (feRules !== null && await requestRules(feRules, fe.ctx, info, ex, txn.ender)) return;

  // (The Connection tokens are parsed already: most requests never build the header map.)
  if (ex.head.connectionTokens.includes("upgrade") && isWebSocketUpgrade(info.headers)) {
    // Routed here, so that the backend's http-request rules hold for upgrades too (a `deny`
    // there must not be bypassed by adding Upgrade headers).
    const name = fe.router.route(info);
    const wsBe = name === null ? undefined : core.snapshot.backends.get(name);
    if (wsBe !== undefined && wsBe.rules.request !== null) {
      rec.backend = name!;
      if (await requestRules(wsBe.rules.request, fe.ctx, info, ex, txn.ender)) return;
    }
    return await proxyWs(core, fe, ex, info, rec, release, name);
  }

  // The stats page of the frontend (a `listen stats`) after its rules, as in HAProxy.
  if (fe.stats?.matches(info)) return await serveStats(core, fe.stats, ex, info, txn);
  const backendName = routed === undefined ? fe.router.route(info) : routed;
  const beRt = backendName === null ? undefined : core.snapshot.backends.get(backendName);
  if (beRt === undefined) return await noBackend(txn);
  const beRules = beRt.rules.request;
  if (beRules !== null && await requestRules(beRules, fe.ctx, info, ex, txn.ender)) return;
  // ... and the page of the backend the rules chose, after the backend's rules.
  if (beRt.stats?.matches(info)) {
    rec.backend = backendName!;
    return await serveStats(core, beRt.stats, ex, info, txn);
  }
  return await txn.forward(backendName!);
}

/** Answers with the stats page; logged as HAProxy logs its stats applet (`<STATS>`, LR--). */
async function serveStats(
  core: ProxyCore,
  stats: StatsHandler,
  ex: ClientExchange,
  info: RequestInfo,
  txn: HttpTxn,
): Promise<void> {
  const rec = txn.rec;
  rec.server = "<STATS>";
  rec.tw = 0;
  rec.tc = 0;
  rec.tres = 0;
  const rt = {
    config: core.snapshot.config,
    state: core.store,
    setAdminState: core.setAdminState,
  };
  const ctx = {
    nbsrv: (name: string) => {
      const be = core.snapshot.backends.get(name);
      return be ? core.store.nbsrv(be.config) : 0;
    },
  };
  try {
    const r = await stats.serve(ex, info, rt, ctx);
    txn.end(r.status, "LR--", r.bytes);
  } catch {
    txn.end(-1, "CR--", 0);
    ex.abort();
  }
}

async function proxyWs(
  core: ProxyCore,
  fe: FrontendRt,
  ex: ClientExchange,
  info: RequestInfo,
  rec: RequestLog,
  release: () => void,
  backendName: string | null,
): Promise<void> {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    release();
  };
  const deps = wsDeps(core, fe, info, rec, once, backendName);
  try {
    await proxyWebSocket(ex, info, deps.deps);
    if (!deps.connected()) once();
  } catch (err) {
    once();
    console.error(`wtproxy: websocket error: ${err instanceof Error ? err.stack : err}`);
    if (!ex.headSent) await ex.sendError(502).catch(() => {});
  }
}
