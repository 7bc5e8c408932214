// WebSocket proxying (Wt's push channel `GET /?wtd=<id>&request=ws`): the backend handshake
// goes first over our own connection, with the client's header lines as they came (Host,
// Origin, Cookie, User-Agent, Sec-WebSocket-Key/Protocol) plus X-Forwarded-For /
// X-Original-To; the client is answered with what the backend decided:
//   not 101          -> the backend's status, headers and body, as a normal response;
//   101, bad accept  -> 502 (HAProxy: "101 lacking Sec-WebSocket-Accept");
//   101              -> the backend's 101 relayed on the client's own socket (taken over from
//                       the HTTP server), then a byte tunnel both ways (relay.ts), as HAProxy.
// No extension is offered upstream (no permessage-deflate on either hop).

import type { ErrorPage, Millis } from "../config/model.ts";
import type { AccessLogger, RequestLog } from "../log/record.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { Counters } from "../state.ts";
import type { ClientExchange } from "../downstream/types.ts";
import { diag } from "../log/diag.ts";
import { relayResponse, TERMINATION } from "../proxy/respond.ts";
import { sendReply } from "../proxy/rules.ts";
import type { Reply } from "../rules/types.ts";
import { UpstreamConn } from "../upstream/conn.ts";
import { UpstreamError } from "../upstream/errors.ts";
import { Exchange } from "../upstream/exchange.ts";
import type { ResponseHead } from "../upstream/response.ts";
import {
  acceptFor,
  check101,
  checkClientHandshake,
  clientHead101,
  upstreamHead,
} from "./handshake.ts";
import { DEFAULT_LIMITS, Tunnel, type WsLimits } from "./relay.ts";
import { ExchangeCut, type StreamSlot } from "../proxy/sessions.ts";

export { isWebSocketUpgrade } from "./handshake.ts";
export { liveTunnels, type WsLimits } from "./relay.ts";

const EMPTY = new Uint8Array(0);

/** First read buffer of the backend handshake (grows by doubling, see BufferedConn.fill()). */
const HANDSHAKE_BUFFER = 2048;

/** What deps.connect() gives: a connected socket to the chosen server (nothing read yet). */
export interface WsUpstream {
  conn: Deno.TcpConn;
  backend: string;
  server: string;
  /**
   * Counters this tunnel moves (typically frontend, backend and server): wsOpen, wsTotal,
   * wsMessagesIn/Out, wsBytesIn/Out, bytesIn/bytesOut (message payloads) and countStatus()
   * of the final status. `requests`, `current`/`max` stay with the proxy room.
   */
  counters: Counters[];
  /**
   * Called once when the server connection is closed: after a relayed refusal, after a failed
   * handshake, or when a tunnel's socket is closed (which may be up to limits.closeGraceMs after
   * the tunnel's log line, while our close frame waits for the backend's answer).
   */
  release?: () => void;
  /**
   * Wt session events of this request (src/session/): "answered" when the server's answer is
   * not a refusal, "opened" when its 101 went to the client, "closed" when that tunnel ended.
   */
  observe?: (event: "answered" | "opened" | "closed") => void;
  /**
   * Set when the server has `on-marked-down shutdown-sessions`: the handshake (502 DH--) and
   * the tunnel (close 1001 to the client, DD--) register there to be cut when it goes DOWN.
   */
  downSlot?: StreamSlot;
}

/**
 * An error from connect(): `status` (default 503) is answered with the exchange's
 * sendError(status) and logged with `termination` (default "SC--"). connect() fills deps.log's
 * backend, server, tw, tc, retries and redispatched itself as it routes and retries.
 */
export interface WsConnectError extends Error {
  status?: number;
  termination?: string;
}

export interface WsDeps {
  /** Routing + balancing + the connect attempt loop (timeout connect, retries, redispatch). */
  connect(): Promise<WsUpstream>;
  /** Lines appended (last) to the upstream handshake, e.g. ["x-forwarded-for", "10.0.0.1"]. */
  extraHeaders: [string, string][];
  /** The proxy's `errorfile` page for a status (backend's, else frontend's), if any. */
  errorPage?: (status: number) => ErrorPage | undefined;
  /** Set by connect() when the client's lines change on their way up (cookie persistence). */
  rewriteLines?: (lines: Iterable<[string, string]>) => Iterable<[string, string]>;
  /**
   * Set by connect() when the backend or the frontend has `http-response` rules: they run on
   * the server's answer (a refusal or the 101; header edits apply to it), and a final one
   * (`deny`, `return`) gives the answer to send instead, with its log termination.
   */
  responseRules?: (
    lines: [string, string][],
  ) => { reply: Reply; termination: string } | null;
  /**
   * ms or null (not set). After the 101 the tunnel's inactivity timeout is `tunnel`, else
   * the smaller of `client`/`server` (traffic either way resets it); `server` also bounds the
   * wait for the backend's handshake answer (504). `connect` is connect()'s business.
   */
  timeouts: {
    tunnel: Millis | null;
    client: Millis | null;
    server: Millis | null;
    connect: Millis | null;
  };
  /** Partly filled by the proxy room; completed here and emitted exactly once per call. */
  log: RequestLog;
  logger: AccessLogger;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<WsLimits>;
  /** Aborting it ends the tunnel with close 1001 both ways (proxy shutdown), logged KD--. */
  signal?: AbortSignal;
}

/** Time since the request's first byte, ms. */
function since(log: RequestLog): number {
  return Math.max(0, Date.now() - log.acceptDate);
}

function tunnelIdle(t: WsDeps["timeouts"]): { ms: number; termination: string } | null {
  if (t.tunnel !== null) return { ms: t.tunnel, termination: "cD--" };
  if (t.client !== null && (t.server === null || t.client <= t.server)) {
    return { ms: t.client, termination: "cD--" };
  }
  if (t.server !== null) return { ms: t.server, termination: "sD--" };
  return null;
}

/**
 * Proxies one WebSocket upgrade request (the proxy room calls it when isWebSocketUpgrade()).
 * Resolves once the answer (an error page, the backend's refusal, or the 101) is written; a
 * tunnel then lives on by itself. Logs exactly once (when the tunnel or the answer ends).
 * Never rejects.
 */
export async function proxyWebSocket(
  ex: ClientExchange,
  info: RequestInfo,
  deps: WsDeps,
): Promise<void> {
  const log = deps.log;
  let counters: Counters[] = [];
  const emit = (status: number, termination: string, bytes: number) => {
    log.status = status;
    // With cookie persistence the last two characters are the cookie's.
    log.termination = log.persistence ? termination.slice(0, 2) + log.persistence : termination;
    log.bytesRead = bytes;
    log.ta = since(log);
    for (const c of counters) c.countStatus(status);
    deps.logger.request(log.frontend, log);
  };
  const fail = async (status: number, termination: string): Promise<void> => {
    const page = status === 400 ? undefined : deps.errorPage?.(status);
    try {
      await ex.sendError(status, page);
    } catch { /* client gone */ }
    emit(status, termination, status === 400 ? 0 : ex.errorBytes(status, page));
  };

  const hs = checkClientHandshake(info);
  if (typeof hs === "string") {
    // Refused by the parser before routing, like HAProxy: "<BADREQ>", PR--.
    log.backend = log.frontend;
    log.server = null;
    log.requestLine = null;
    log.tw = log.tc = log.tres = -1;
    return await fail(400, "PR--");
  }

  let up: WsUpstream;
  try {
    up = await deps.connect();
  } catch (err) {
    const e = err as WsConnectError;
    return await fail(typeof e?.status === "number" ? e.status : 503, e?.termination ?? "SC--");
  }
  counters = up.counters;
  log.backend = up.backend;
  log.server = up.server;
  const release = connRelease(up);

  // The handshake is one request/response exchange with the server (timeout server while
  // waiting; 1xx other than 101 skipped), like any request's. Its read buffer starts small (a
  // 101 head is a few hundred bytes; it doubles for a longer answer): a pooled 64 KB one per
  // upgrade made a burst of upgrades leave megabytes of freed-but-resident malloc memory
  // between the tunnels' long-lived allocations (~4 KB RSS per idle tunnel).
  const uc = new UpstreamConn(up.conn, "", HANDSHAKE_BUFFER);
  const x = new Exchange(
    uc,
    {
      method: "GET",
      head: upstreamHead(
        info.target,
        deps.rewriteLines ? deps.rewriteLines(ex.head.lines) : ex.head.lines,
        deps.extraHeaders,
      ),
      body: null,
      chunked: false,
    },
    deps.timeouts.server,
  );
  let head: ResponseHead;
  const accept = acceptFor(hs.key);
  const sentAt = Date.now();
  const cut = up.downSlot ? new ExchangeCut(up.downSlot, x) : null;
  try {
    head = await x.send();
  } catch (err) {
    cut?.done();
    release();
    log.tres = -1;
    if (cut?.killed) return await fail(502, "DH--");
    const kind = err instanceof UpstreamError ? err.kind : "closed-after-send";
    if (kind === "server-timeout") return await fail(504, "sH--");
    if (kind === "invalid-response") return await fail(502, "PH--");
    return await fail(502, "SH--");
  }
  log.tres = Date.now() - sentAt;

  // http-response rules: the backend's, then the frontend's, as for any answer.
  const denied = head.status <= 599 ? deps.responseRules?.(head.headers) ?? null : null;
  if (denied !== null) {
    cut?.done();
    x.abort();
    release();
    emit(denied.reply.status, denied.termination, denied.reply.body.length);
    return await sendReply(ex, denied.reply);
  }

  if (head.status !== 101) {
    // The backend said no (403, 404, 500...): its answer goes to the client as it is, cut
    // (DD--) if the server goes down while its body is relayed.
    if (head.status > 599) {
      cut?.done();
      release();
      return await fail(502, "PH--");
    }
    if (head.status < 400) up.observe?.("answered");
    return await relayResponse(ex, x, head, (r) => {
      cut?.done();
      release();
      emit(head.status, cut?.killed && r.end !== "done" ? "DD--" : TERMINATION[r.end], r.bytes);
    });
  }
  cut?.done();

  const bad = check101(head, await accept, hs.protocols);
  if (bad !== null) {
    // HAProxy's "invalid server response" (PH--); the reason goes to the diagnostic log.
    diag("ws").warn("invalid server response from {server}: {reason}", {
      server: `${up.backend}/${up.server}`,
      reason: bad,
    });
    release();
    return await fail(502, "PH--");
  }
  // The backend said yes: its 101 goes to the client on the raw socket, then the tunnel.
  const { conn, buffered, pending, release: clientRelease } = ex.takeOver();
  // The tunnel writes the 101 first: it is counted open before the client can see it.
  const head101 = clientHead101(head);
  for (const c of counters) c.countStatus(101);
  up.observe?.("opened");
  // The record lives as long as the tunnel: its request line must not keep the head's text.
  if (log.requestLine !== null) log.requestLine = detached(log.requestLine);
  new Tunnel({
    client: conn,
    clientHead: head101,
    clientBuffered: buffered,
    clientPending: pending,
    backend: up.conn,
    backendBuffered: takeBuffered(uc),
    idle: tunnelIdle(deps.timeouts),
    limits: deps.limits ? { ...DEFAULT_LIMITS, ...deps.limits } : DEFAULT_LIMITS, // read-only
    counters: up.counters,
    signal: deps.signal,
    downSlot: up.downSlot,
    onEnd: tunnelEnd(log, deps.logger, head101.length, up.observe),
    onConnClosed: release, // the tunnel owns both sockets from here on
    onClientClosed: clientRelease,
  });
}

// The two callbacks a tunnel keeps for its whole life are built apart from proxyWebSocket(),
// so that they do not keep its scope (the exchange, the deps, the request's head).

/** Logs the tunnel's end (its 101 was counted already): emit() without countStatus. */
function tunnelEnd(
  log: RequestLog,
  logger: AccessLogger,
  headSize: number,
  observe: WsUpstream["observe"],
): (termination: string, bytesToClient: number) => void {
  return (termination, bytesToClient) => {
    observe?.("closed");
    log.status = 101;
    log.termination = log.persistence ? termination.slice(0, 2) + log.persistence : termination;
    log.bytesRead = headSize + bytesToClient;
    log.ta = since(log);
    logger.request(log.frontend, log);
  };
}

/**
 * A copy of `s` that holds no part of a larger string: V8 keeps a substring (the request
 * target cut from the head's text) as a view that keeps the whole text alive. Concatenating
 * then slicing makes V8 flatten into a new string of s's own size.
 */
export function detached(s: string): string {
  return (" " + s).slice(1);
}

/** Closes the server connection and calls up.release, once. */
function connRelease(up: WsUpstream): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      up.conn.close();
    } catch { /* already closed */ }
    up.release?.();
  };
}

/** Bytes the server sent past its 101 (it may speak first); the read buffer is freed. */
function takeBuffered(uc: UpstreamConn): Uint8Array {
  const out = uc.end > uc.start ? uc.buf.slice(uc.start, uc.end) : EMPTY;
  uc.releaseBuffer(true);
  return out;
}
