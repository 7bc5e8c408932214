// One HTTP request through the proxy: route, connect (attempt loop), send the request, answer
// with the server's response streamed back, log it once, move the counters, free the slot.

import type { AccessLogger, RequestLog } from "../log/record.ts";
import type { Counters } from "../state.ts";
import { type Network, parseNetwork } from "../acl/ip.ts";
import { isWebSocketUpgrade, proxyWebSocket } from "../ws/proxy.ts";
import { UpstreamError } from "../upstream/errors.ts";
import { type BodyEnd, Exchange } from "../upstream/exchange.ts";
import { headerLines, requestHead } from "../upstream/request.ts";
import type { ResponseHead } from "../upstream/response.ts";
import { BodySource } from "../upstream/upload.ts";
import { type AttemptDeps, ClientGone, connectAttempts, ProxyFailure } from "./attempt.ts";
import type { FrontendRt, HeaderPlan } from "./compile.ts";
import { wsDeps } from "./connect.ts";
import { errorBytes, errorResponse } from "./errors.ts";
import type { RequestInfo } from "./request.ts";

export interface ProxyCore extends AttemptDeps {
  logger: AccessLogger;
  /** Exchanges in progress (aborted when a stop deadline passes). */
  inflight: Set<{ abort(): void }>;
  /** Aborted when the runtime stops for good (WebSocket tunnels close with 1001). */
  shutdown: AbortSignal;
}

/** Response headers that never go to the client (hop-by-hop; Deno.serve does the framing). */
const DROP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const TERMINATION: Record<BodyEnd, string> = {
  "done": "----",
  "client-abort": "CD--",
  "client-timeout": "cD--",
  "server-abort": "SD--",
  "server-timeout": "sD--",
};

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

export function newRecord(fe: FrontendRt, info: RequestInfo, acceptDate: number): RequestLog {
  return {
    clientIp: info.srcIp,
    clientPort: info.srcPort,
    acceptDate,
    frontend: fe.config.name,
    backend: fe.config.name,
    server: null,
    tr: 0,
    tw: -1,
    tc: -1,
    tres: -1,
    ta: 0,
    status: -1,
    bytesRead: 0,
    termination: "----",
    actconn: 0,
    feconn: 0,
    beconn: 0,
    srvConn: 0,
    retries: 0,
    redispatched: false,
    srvQueue: 0,
    backendQueue: 0,
    requestLine: `${info.method} ${info.target} ${info.version}`,
  };
}

/**
 * Handles one request of frontend `fe` (the maxconn slot is already held; `release` frees it
 * and must be called exactly once, when the response is over).
 */
export async function forwardRequest(
  core: ProxyCore,
  fe: FrontendRt,
  req: Request,
  info: RequestInfo,
  release: () => void,
): Promise<Response> {
  const t0 = performance.now();
  const rec = newRecord(fe, info, Date.now());
  const feC = fe.state.counters;
  feC.requests++;
  const store = core.store;
  rec.actconn = store.activeConnections;
  rec.feconn = feC.current;

  let counters: Counters[] = [feC];
  let finished = false;
  const end = (status: number, termination: string, bytes: number) => {
    if (finished) return;
    finished = true;
    rec.status = status;
    rec.termination = termination;
    rec.bytesRead = bytes;
    rec.ta = Math.round(performance.now() - t0);
    for (const c of counters) {
      if (status > 0) c.countStatus(status);
      c.bytesOut += bytes;
      c.observeTime(rec.ta);
    }
    try {
      core.logger.request(fe.config.name, rec);
    } catch { /* a logger must not break the proxy */ }
    release();
  };
  const fail = (status: number, termination: string): Response => {
    end(status, termination, errorBytes(status));
    return errorResponse(status);
  };

  if (isWebSocketUpgrade(req.headers)) {
    return await proxyWs(core, fe, req, info, rec, release);
  }

  const backendName = fe.router.route(info);
  if (backendName === null || !core.snapshot.backends.has(backendName)) {
    rec.tw = -1;
    rec.tc = -1;
    return fail(503, "SC--");
  }

  // Client disconnects before the response head: stop connecting / waiting.
  const ac = new AbortController();
  let ex: Exchange | null = null;
  const onAbort = () => {
    ac.abort();
    ex?.abort();
  };
  req.signal.addEventListener("abort", onAbort, { once: true });
  const body = req.body ? new BodySource(req.body, fe.clientTimeout) : null;
  const chunked = body !== null && !req.headers.has("content-length");
  const clientLines = headerLines(req.headers) + (chunked ? "transfer-encoding: chunked\r\n" : "");

  let head: ResponseHead | null = null;
  let sentAt = 0;
  try {
    let fresh = false;
    for (let tries = 0;; tries++) {
      const c = await connectAttempts(core, fe, info, rec, backendName, {
        usePool: (be) => !fresh && !fe.plans.get(be.config.name)!.closeMode,
        signal: ac.signal,
      });
      const be = c.backend;
      const srvC = c.server.state.counters;
      const beC = be.state.counters;
      if (counters.length === 1) {
        be.state.counters.requests++;
        srvC.requests++;
      }
      counters = [feC, beC, srvC];
      rec.beconn = beC.current;
      rec.srvConn = srvC.current;
      const plan = fe.plans.get(be.config.name)!;
      let lines = clientLines + plan.connectionLine;
      for (const [n, v] of forwardedLines(plan, info)) lines += `${n}: ${v}\r\n`;
      const headBytes = requestHead(info.method, info.target, lines);
      beC.open();
      srvC.open();
      const closeConns = () => {
        beC.close();
        srvC.close();
      };
      ex = new Exchange(
        c.uc,
        { method: info.method, head: headBytes, body, chunked },
        be.serverTimeout,
      );
      core.inflight.add(ex);
      sentAt = performance.now();
      try {
        head = await ex.send();
      } catch (err) {
        core.inflight.delete(ex);
        c.uc.close();
        closeConns();
        if (ac.signal.aborted) throw new ClientGone();
        if (ex.clientFailure === "timeout") {
          rec.tres = -1;
          return fail(408, "cD--");
        }
        if (ex.clientFailure === "abort") throw new ClientGone();
        const e = err instanceof UpstreamError
          ? err
          : new UpstreamError("closed-after-send", `${err}`);
        // A pooled connection closed under us, or the first write failed: nothing reached the
        // server, so try once more on a fresh connection if the body can be replayed.
        if (
          (e.kind === "stale-reused" || e.kind === "reset-before-send") && tries < 2 &&
          (body === null || body.rewind())
        ) {
          fresh = true;
          ex = null;
          continue;
        }
        rec.tres = -1;
        beC.responseErrors++;
        srvC.responseErrors++;
        if (e.kind === "server-timeout") return fail(504, "sH--");
        if (e.kind === "invalid-response") return fail(502, "PH--");
        return fail(502, "SH--");
      }
      rec.tres = Math.round(performance.now() - sentAt);
      const exchange = ex;
      const uc = c.uc;
      const h = head;
      if (h.status === 101 || h.status > 599) {
        core.inflight.delete(exchange);
        exchange.abort();
        closeConns();
        beC.responseErrors++;
        srvC.responseErrors++;
        return fail(502, "PH--");
      }
      const headers = new Headers();
      const tokens = h.connectionTokens;
      for (const [name, value] of h.headers) {
        const lower = name.toLowerCase();
        if (DROP_RESPONSE.has(lower) || (tokens.length > 0 && tokens.includes(lower))) continue;
        if (lower === "content-length" && (h.bodyMode === "chunked" || h.bodyMode === "close")) {
          continue;
        }
        headers.append(lower, value);
      }
      const small = exchange.takeBufferedBody();
      if (small) {
        core.inflight.delete(exchange);
        if (small.reusable) core.pool.release(uc);
        else uc.close();
        closeConns();
        if (body && !body.ended) body.cancel();
        for (const cc of counters) cc.bytesIn += body?.bytes ?? 0;
        req.signal.removeEventListener("abort", onAbort);
        const res = new Response(small.body, { status: h.status, headers });
        end(h.status, "----", h.headBytes + small.body.length);
        return res;
      }
      const stream = exchange.bodyStream(fe.clientTimeout, (result, reusable) => {
        core.inflight.delete(exchange);
        if (reusable) core.pool.release(uc);
        else uc.close();
        closeConns();
        if (body && !body.ended) body.cancel();
        for (const cc of counters) cc.bytesIn += body?.bytes ?? 0;
        end(h.status, TERMINATION[result.end], h.headBytes + result.bytes);
      });
      req.signal.removeEventListener("abort", onAbort);
      return new Response(stream, { status: h.status, headers });
    }
  } catch (err) {
    req.signal.removeEventListener("abort", onAbort);
    body?.cancel();
    if (err instanceof ProxyFailure) return fail(err.status, err.termination);
    if (err instanceof ClientGone) {
      end(-1, head ? "CD--" : rec.tc === -1 && sentAt === 0 ? "CC--" : "CH--", 0);
      return errorResponse(502);
    }
    console.error(`wtproxy: internal error: ${err instanceof Error ? err.stack : err}`);
    return fail(502, "PH--");
  } finally {
    req.signal.removeEventListener("abort", onAbort);
  }
}

async function proxyWs(
  core: ProxyCore,
  fe: FrontendRt,
  req: Request,
  info: RequestInfo,
  rec: RequestLog,
  release: () => void,
): Promise<Response> {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    release();
  };
  const deps = wsDeps(core, fe, info, rec, once);
  try {
    const res = await proxyWebSocket(req, info, deps.deps);
    if (!deps.connected()) once();
    return res;
  } catch (err) {
    once();
    console.error(`wtproxy: websocket error: ${err instanceof Error ? err.stack : err}`);
    return errorResponse(502);
  }
}
