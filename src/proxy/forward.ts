// One HTTP request through the proxy: route, connect (attempt loop), send the request, answer
// with the server's response streamed back, log it once, move the counters, free the slot.

import { type AccessLogger, newRequestLog, type RequestLog } from "../log/record.ts";
import type { AdminState, Counters } from "../state.ts";
import { type Network, parseNetwork } from "../acl/ip.ts";
import { isWebSocketUpgrade, proxyWebSocket } from "../ws/proxy.ts";
import { UpstreamError } from "../upstream/errors.ts";
import { Exchange } from "../upstream/exchange.ts";
import { framingLine, headerLines, requestHead } from "../upstream/request.ts";
import type { ResponseHead } from "../upstream/response.ts";
import { BodySource } from "../upstream/upload.ts";
import { type AttemptDeps, ClientGone, connectAttempts, ProxyFailure } from "./attempt.ts";
import type { BackendRt, FrontendRt, HeaderPlan } from "./compile.ts";
import { wsDeps } from "./connect.ts";
import type { RequestInfo } from "./request.ts";
import type { ClientExchange } from "../downstream/types.ts";
import { firstUrlParam } from "../acl/fetches/url.ts";
import type { SessionObserver } from "../session/observer.ts";
import { interimTo, relayResponse, TERMINATION } from "./respond.ts";
import { requestRules, responseRules, sendReply } from "./rules.ts";
import type { CookiePersistence } from "../persist/cookie.ts";
import type { StatsHandler } from "../admin/listen.ts";
import { exchangeCut, type ServerSessions } from "./sessions.ts";

/** The request's lines with the Cookie lines as cookie persistence forwards them. */
export function* cookieEdited(
  lines: Iterable<[string, string]>,
  ck: CookiePersistence,
): Iterable<[string, string]> {
  for (const line of lines) {
    if (line[0] !== "cookie") yield line;
    else {
      const v = ck.forwardedCookie(line[1]);
      if (v !== "") yield [line[0], v];
    }
  }
}

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

function ipOf(ip: string): Network | null {
  return parseNetwork(ip);
}

function inAny(ip: string, nets: Network[]): boolean {
  if (nets.length === 0) return false;
  const n = ipOf(ip);
  if (!n) return false;
  return nets.some((net) => n.addr.every((w, i) => ((w & net.mask[i]) >>> 0) === net.addr[i]));
}

/** X-Forwarded-For / X-Original-To lines for this request (appended as the last lines). */
export function forwardedLines(plan: HeaderPlan, info: RequestInfo): [string, string][] {
  const out: [string, string][] = [];
  const xff = plan.xff;
  if (xff && !inAny(info.srcIp, xff.except) && !(xff.ifNone && info.headers.has(xff.name))) {
    out.push([xff.name, info.srcIp]);
  }
  const xot = plan.xot;
  if (xot && !inAny(info.dstIp, xot.except)) out.push([xot.name, info.dstIp]);
  return out;
}

/** The same lines as header text ("name: value\r\n" each), for the request head. */
function forwardedText(plan: HeaderPlan, info: RequestInfo): string {
  let s = "";
  const xff = plan.xff;
  if (xff && !inAny(info.srcIp, xff.except) && !(xff.ifNone && info.headers.has(xff.name))) {
    s = `${xff.name}: ${info.srcIp}\r\n`;
  }
  const xot = plan.xot;
  if (xot && !inAny(info.dstIp, xot.except)) s += `${xot.name}: ${info.dstIp}\r\n`;
  return s;
}

/**
 * Handles one request of frontend `fe` (the maxconn slot is already held; `release` frees it
 * and must be called exactly once, when the response is over).
 */
export async function forwardRequest(
  core: ProxyCore,
  fe: FrontendRt,
  ex: ClientExchange,
  info: RequestInfo,
  release: () => void,
): Promise<void> {
  const t0 = performance.now();
  const rec = newRequestLog(fe.config.name, info, Date.now());
  const feC = fe.state.counters;
  feC.requests++;
  const store = core.store;
  rec.actconn = store.activeConnections;
  rec.feconn = feC.current;
  // Bytes in: the request head as received (as HAProxy counts it), the body is added apart.
  const headIn = ex.head.size;

  let counters: Counters[] = [feC];
  let finished = false;
  const end = (status: number, termination: string, bytes: number) => {
    if (finished) return;
    finished = true;
    rec.status = status;
    // With cookie persistence the last two characters are the cookie's (request, response).
    rec.termination = rec.persistence ? termination.slice(0, 2) + rec.persistence : termination;
    rec.bytesRead = bytes;
    rec.ta = Math.round(performance.now() - t0);
    for (const c of counters) {
      if (status > 0) c.countStatus(status);
      c.bytesIn += headIn;
      c.bytesOut += bytes;
      c.observeTime(rec.ta);
    }
    try {
      core.logger.request(fe.config.name, rec);
    } catch { /* a logger must not break the proxy */ }
    release();
  };
  const fail = async (status: number, termination: string): Promise<void> => {
    // `errorfile`: the backend's page (once one is chosen), else the frontend's, else HAProxy's.
    const page = core.snapshot.backends.get(rec.backend)?.config.errorPages?.[status] ??
      fe.config.errorPages?.[status];
    end(status, termination, ex.errorBytes(status, page));
    try {
      await ex.sendError(status, page);
    } catch { /* client gone */ }
  };

  // http-request rules of the frontend (a WebSocket upgrade goes through them too).
  const feRules = fe.rules.request;
  if (feRules !== null && await requestRules(feRules, fe.ctx, info, ex, end)) return;

  // (The Connection tokens are parsed already: most requests never build the header map.)
  if (ex.head.connectionTokens.includes("upgrade") && isWebSocketUpgrade(info.headers)) {
    // Routed here, so that the backend's http-request rules hold for upgrades too (a `deny`
    // there must not be bypassed by adding Upgrade headers).
    const name = fe.router.route(info);
    const wsBe = name === null ? undefined : core.snapshot.backends.get(name);
    if (wsBe !== undefined && wsBe.rules.request !== null) {
      rec.backend = name!;
      if (await requestRules(wsBe.rules.request, fe.ctx, info, ex, end)) return;
    }
    return await proxyWs(core, fe, ex, info, rec, release, name);
  }

  // The stats page of the frontend (a `listen stats`) after its rules, as in HAProxy.
  if (fe.stats?.matches(info)) return await serveStats(core, fe.stats, ex, info, rec, end);
  const backendName = fe.router.route(info);
  if (backendName === null || !core.snapshot.backends.has(backendName)) {
    rec.tw = -1;
    rec.tc = -1;
    return await fail(503, "SC--");
  }
  const beRt = core.snapshot.backends.get(backendName)!;
  const beRules = beRt.rules.request;
  if (beRules !== null && await requestRules(beRules, fe.ctx, info, ex, end)) return;
  // ... and the page of the backend the rules chose, after the backend's rules.
  if (beRt.stats?.matches(info)) {
    rec.backend = backendName;
    return await serveStats(core, beRt.stats, ex, info, rec, end);
  }

  // Client disconnects before the response head: stop connecting / waiting. (A callback, not
  // ex.signal: no AbortController nor event listener per request; the signal is made only
  // when a connect needs one.)
  let upx: Exchange | null = null;
  let cancelConnect: (() => void) | null = null;
  ex.onGone(() => {
    cancelConnect?.();
    upx?.abort();
  });
  const head = ex.head;
  let body: BodySource | null = null;
  const chunked = head.bodyKind === "chunked";
  if (ex.body) body = new BodySource(ex.body);
  // The framing sent up is ours, from what the parser decided (a chunked body is re-chunked).
  const framing = framingLine(head.bodyKind, head.contentLength);
  const clientLines = headerLines(
    head.lines,
    head.connectionTokens,
    framing,
  );

  let rh: ResponseHead | null = null;
  let sentAt = 0;
  try {
    let fresh = false;
    const attemptOpts = {
      usePool: (be: BackendRt) => !fresh && !fe.plans.get(be.config.name)!.closeMode,
      gone: () => ex.gone,
      get signal() {
        return ex.signal;
      },
      connectAbort: (cancel: (() => void) | null) => {
        cancelConnect = cancel;
      },
    };
    for (let tries = 0;; tries++) {
      const pending = connectAttempts(core, fe, info, rec, backendName, attemptOpts);
      const c = pending instanceof Promise ? await pending : pending;
      const be = c.backend;
      const srvC = c.server.state.counters;
      const beC = be.state.counters;
      if (counters.length === 1) {
        beC.requests++;
        srvC.requests++;
      }
      counters = [feC, beC, srvC];
      rec.beconn = beC.current;
      rec.srvConn = srvC.current;
      const plan = fe.plans.get(be.config.name)!;
      if (plan.clientClose) ex.closeAfterAnswer();
      let lines = clientLines;
      if (c.cookie) {
        rec.persistence = c.cookie.req.flag + "N";
        if (be.cookie!.editsRequest && info.headers.has("cookie")) {
          lines = headerLines(cookieEdited(head.lines, be.cookie!), head.connectionTokens, framing);
        }
      }
      const headBytes = requestHead(
        info.method,
        info.target,
        lines + plan.connectionLine + forwardedText(plan, info),
      );
      beC.open();
      srvC.open();
      upx = new Exchange(
        c.uc,
        { method: info.method, head: headBytes, body, chunked, onInterim: interimTo(ex) },
        be.serverTimeout,
      );
      core.inflight.add(upx);
      // on-marked-down shutdown-sessions: registered only for a server that has it.
      const cut = c.server.config.onMarkedDown ? exchangeCut(core, c.server.state, upx) : null;
      sentAt = performance.now();
      try {
        rh = await upx.send(sentAt);
      } catch (err) {
        core.inflight.delete(upx);
        cut?.done();
        c.uc.close();
        beC.close();
        srvC.close();
        if (ex.gone) throw new ClientGone();
        if (upx.clientFailure === "timeout") {
          rec.tres = -1;
          return await fail(408, "cD--");
        }
        if (upx.clientFailure === "abort") throw new ClientGone();
        if (upx.clientFailure === "malformed") {
          rec.tres = -1;
          return await fail(400, "PD--");
        }
        const e = err instanceof UpstreamError
          ? err
          : new UpstreamError("closed-after-send", `${err}`);
        // A pooled connection closed under us, or the first write failed: nothing reached the
        // server, so try once more on a fresh connection if the body can be replayed (once the
        // old upload has stopped reading it).
        const retryable = (e.kind === "stale-reused" || e.kind === "reset-before-send") &&
          tries < 2 && !cut?.killed;
        if (retryable && body) await upx.detachUpload();
        if (retryable && (body === null || body.rewind())) {
          fresh = true;
          upx = null;
          continue;
        }
        rec.tres = -1;
        beC.responseErrors++;
        srvC.responseErrors++;
        body?.cancel(); // no retry: stop reading what is left of the client's body
        if (cut?.killed) return await fail(502, "DH--"); // HAProxy's answer too
        if (e.kind === "server-timeout") return await fail(504, "sH--");
        if (e.kind === "invalid-response") return await fail(502, "PH--");
        return await fail(502, "SH--");
      }
      rec.tres = Math.round(performance.now() - sentAt);
      const exchange = upx;
      const uc = c.uc;
      const h = rh;
      const keep = !plan.closeMode;
      const settle = (reusable: boolean) => {
        core.inflight.delete(exchange);
        cut?.done();
        // Close mode (server-close, httpclose): the server connection ends with the response,
        // even when the server offered keep-alive (told of the close or not: pretend-keepalive).
        if (reusable && keep) core.pool.release(uc);
        else uc.close();
        beC.close();
        srvC.close();
        if (body) {
          if (!body.ended) body.cancel();
          for (const cc of counters) cc.bytesIn += body.bytes;
        }
      };
      if (h.status === 101 || h.status > 599) {
        exchange.abort();
        settle(false);
        beC.responseErrors++;
        srvC.responseErrors++;
        return await fail(502, "PH--");
      }
      // A Wt session is live from the first request carrying its id that a server answered.
      const wt = core.snapshot.wtParam;
      if (wt !== null && h.status < 400 && core.sessions) {
        const id = firstUrlParam(info.query, wt);
        if (id) core.sessions.answered(c.server.state.key, id);
      }
      if (c.cookie) {
        rec.persistence = c.cookie.req.flag + be.cookie!.response(
          h.headers,
          h.status,
          info.method,
          c.server,
          c.cookie.req,
          c.cookie.direct,
          Math.floor(Date.now() / 1000),
        );
      }
      // http-response rules: the backend's, then the frontend's (HAProxy's order).
      if (be.rules.response !== null || fe.rules.response !== null) {
        for (const rules of [be.rules.response, fe.rules.response]) {
          if (rules === null) continue;
          const denied = responseRules(rules, fe.ctx, info, h.headers);
          if (denied) {
            exchange.abort();
            settle(false);
            end(denied.reply.status, denied.termination, denied.reply.body.length);
            return await sendReply(ex, denied.reply);
          }
        }
      }
      await relayResponse(ex, exchange, h, (r) => {
        settle(r.reusable);
        end(h.status, cut?.killed && r.end !== "done" ? "DD--" : TERMINATION[r.end], r.bytes);
      });
      return;
    }
  } catch (err) {
    body?.cancel();
    if (err instanceof ProxyFailure) return await fail(err.status, err.termination);
    if (err instanceof ClientGone) {
      end(-1, rh ? "CD--" : rec.tc === -1 && sentAt === 0 ? "CC--" : "CH--", 0);
      ex.abort();
      return;
    }
    console.error(`wtproxy: internal error: ${err instanceof Error ? err.stack : err}`);
    return await fail(502, "PH--");
  } finally {
    ex.onGone(null);
  }
}

/** Answers with the stats page; logged as HAProxy logs its stats applet (`<STATS>`, LR--). */
async function serveStats(
  core: ProxyCore,
  stats: StatsHandler,
  ex: ClientExchange,
  info: RequestInfo,
  rec: RequestLog,
  end: (status: number, termination: string, bytes: number) => void,
): Promise<void> {
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
    end(r.status, "LR--", r.bytes);
  } catch {
    end(-1, "CR--", 0);
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
