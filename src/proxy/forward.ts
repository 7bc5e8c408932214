// One HTTP request through the proxy: route, connect (attempt loop), send the request, answer
// with the server's response streamed back, log it once, move the counters, free the slot.

import { type AccessLogger, newRequestLog, type RequestLog } from "../log/record.ts";
import type { Counters } from "../state.ts";
import { type Network, parseNetwork } from "../acl/ip.ts";
import { isWebSocketUpgrade, proxyWebSocket } from "../ws/proxy.ts";
import { UpstreamError } from "../upstream/errors.ts";
import { type BodyEnd, Exchange } from "../upstream/exchange.ts";
import { headerLines, HOP_BY_HOP, requestHead } from "../upstream/request.ts";
import type { ResponseHead } from "../upstream/response.ts";
import { BodySource } from "../upstream/upload.ts";
import { type AttemptDeps, ClientGone, connectAttempts, ProxyFailure } from "./attempt.ts";
import type { BackendRt, FrontendRt, HeaderPlan } from "./compile.ts";
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
const DROP_RESPONSE = HOP_BY_HOP;

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
  req: Request,
  info: RequestInfo,
  release: () => void,
): Promise<Response> {
  const t0 = performance.now();
  const rec = newRequestLog(fe.config.name, info, Date.now());
  const feC = fe.state.counters;
  feC.requests++;
  const store = core.store;
  rec.actconn = store.activeConnections;
  rec.feconn = feC.current;

  let counters: Counters[] = [feC];
  let finished = false;
  let headIn = 0;
  const end = (status: number, termination: string, bytes: number) => {
    if (finished) return;
    finished = true;
    rec.status = status;
    rec.termination = termination;
    rec.bytesRead = bytes;
    rec.ta = Math.round(performance.now() - t0);
    // Bytes in: the request head as received (as HAProxy counts it), the body is added apart.
    if (headIn === 0) {
      headIn = (rec.requestLine?.length ?? 0) + headerLines(req.headers).length + 4;
    }
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

  // Client disconnects before the response head: stop connecting / waiting. req.signal is
  // passed as is (no AbortController of our own): it aborts only when the client goes away.
  const signal = req.signal;
  let ex: Exchange | null = null;
  const onAbort = () => ex?.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const reqBody = req.body;
  let body: BodySource | null = null;
  let chunked = false;
  if (reqBody) {
    const cl = req.headers.get("content-length");
    chunked = cl === null;
    body = new BodySource(reqBody, fe.clientTimeout, cl === null ? null : Number(cl));
  }
  const clientLines = headerLines(req.headers) + (chunked ? "transfer-encoding: chunked\r\n" : "");
  headIn = (rec.requestLine?.length ?? 0) + clientLines.length + 4;

  let head: ResponseHead | null = null;
  let sentAt = 0;
  try {
    let fresh = false;
    const attemptOpts = {
      usePool: (be: BackendRt) => !fresh && !fe.plans.get(be.config.name)!.closeMode,
      signal,
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
      const headBytes = requestHead(
        info.method,
        info.target,
        clientLines + plan.connectionLine + forwardedText(plan, info),
      );
      beC.open();
      srvC.open();
      ex = new Exchange(
        c.uc,
        { method: info.method, head: headBytes, body, chunked },
        be.serverTimeout,
      );
      core.inflight.add(ex);
      sentAt = performance.now();
      try {
        head = await ex.send(sentAt);
      } catch (err) {
        core.inflight.delete(ex);
        c.uc.close();
        beC.close();
        srvC.close();
        if (signal.aborted) throw new ClientGone();
        if (ex.clientFailure === "timeout") {
          rec.tres = -1;
          return fail(408, "cD--");
        }
        if (ex.clientFailure === "abort") throw new ClientGone();
        const e = err instanceof UpstreamError
          ? err
          : new UpstreamError("closed-after-send", `${err}`);
        // A pooled connection closed under us, or the first write failed: nothing reached the
        // server, so try once more on a fresh connection if the body can be replayed (once the
        // old upload has stopped reading it).
        const retryable = (e.kind === "stale-reused" || e.kind === "reset-before-send") &&
          tries < 2;
        if (retryable && body) await ex.detachUpload();
        if (retryable && (body === null || body.rewind())) {
          fresh = true;
          ex = null;
          continue;
        }
        rec.tres = -1;
        beC.responseErrors++;
        srvC.responseErrors++;
        body?.cancel(); // no retry: stop reading what is left of the client's body
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
        beC.close();
        srvC.close();
        beC.responseErrors++;
        srvC.responseErrors++;
        body?.cancel();
        return fail(502, "PH--");
      }
      const headers = responseHeaders(h);
      if (h.status === 205 && h.bodyMode !== "none") {
        // A 205 has no content (RFC 9110 §15.3.6) and Response refuses one: answer it bodiless
        // and close the server connection (the body it sent anyway is not read).
        core.inflight.delete(exchange);
        exchange.abort();
        beC.close();
        srvC.close();
        if (body) {
          if (!body.ended) body.cancel();
          for (const cc of counters) cc.bytesIn += body.bytes;
        }
        const res = new Response(null, {
          status: 205,
          headers: headers.filter(([n]) => n !== "content-length"),
        });
        end(205, "----", h.headBytes);
        return res;
      }
      const small = exchange.takeBufferedBody();
      if (small !== null) {
        core.inflight.delete(exchange);
        if (exchange.reusable()) core.pool.release(uc);
        else uc.close();
        beC.close();
        srvC.close();
        if (body) {
          if (!body.ended) body.cancel();
          for (const cc of counters) cc.bytesIn += body.bytes;
        }
        const res = new Response(small, { status: h.status, headers });
        end(h.status, "----", h.headBytes + small.length);
        return res;
      }
      const stream = exchange.bodyStream(fe.clientTimeout, (result, reusable) => {
        core.inflight.delete(exchange);
        if (reusable) core.pool.release(uc);
        else uc.close();
        beC.close();
        srvC.close();
        if (body && !body.ended) body.cancel();
        for (const cc of counters) cc.bytesIn += body?.bytes ?? 0;
        end(h.status, TERMINATION[result.end], h.headBytes + result.bytes);
      });
      return new Response(stream, { status: h.status, headers });
    }
  } catch (err) {
    body?.cancel();
    if (err instanceof ProxyFailure) return fail(err.status, err.termination);
    if (err instanceof ClientGone) {
      end(-1, head ? "CD--" : rec.tc === -1 && sentAt === 0 ? "CC--" : "CH--", 0);
      return errorResponse(502);
    }
    console.error(`wtproxy: internal error: ${err instanceof Error ? err.stack : err}`);
    return fail(502, "PH--");
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The server's header lines for the client: hop-by-hop ones (and those its Connection header
 * names) dropped, Content-Length dropped where Deno re-frames the body. A plain list of pairs:
 * Response copies it once (a Headers object would be validated twice).
 */
function responseHeaders(h: ResponseHead): [string, string][] {
  const out: [string, string][] = [];
  const tokens = h.connectionTokens;
  const reframed = h.bodyMode === "chunked" || h.bodyMode === "close";
  for (const pair of h.headers) {
    const lower = pair[0].toLowerCase();
    if (DROP_RESPONSE.has(lower) || (tokens.length > 0 && tokens.includes(lower))) continue;
    if (reframed && lower === "content-length") continue;
    out.push(lower === pair[0] ? pair : [lower, pair[1]]);
  }
  return out;
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
