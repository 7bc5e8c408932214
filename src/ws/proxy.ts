// WebSocket proxying (Wt's push channel `GET /?wtd=<id>&request=ws`): the backend handshake
// goes first over our own connection, with the client's headers as they came (Host, Origin,
// Cookie, User-Agent, Sec-WebSocket-Key/Protocol) plus X-Forwarded-For / X-Original-To; the
// client is answered with what the backend decided:
//   not 101          -> the backend's status, headers and body, as a normal response;
//   101, bad accept  -> 502 (HAProxy: "101 lacking Sec-WebSocket-Accept");
//   101              -> Deno.upgradeWebSocket with the backend's subprotocol, then the relay.
// No extension is offered upstream nor accepted from the client (no permessage-deflate).

import type { Millis } from "../config/model.ts";
import type { AccessLogger, RequestLog } from "../log/record.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { Counters } from "../state.ts";
import {
  acceptFor,
  check101,
  checkClientHandshake,
  DROP_RESPONSE,
  HeadError,
  headerValue,
  OWN_101,
  type ResponseHead,
  upstreamHead,
} from "./handshake.ts";
import { BufferedConn, ReadTimeout, responseBody } from "./http1.ts";
import { DEFAULT_LIMITS, Tunnel, type WsLimits } from "./relay.ts";

export { isWebSocketUpgrade } from "./handshake.ts";
export { liveTunnels, type WsLimits } from "./relay.ts";

/** What deps.connect() gives: a connected socket to the chosen server. */
export interface WsUpstream {
  conn: Deno.Conn;
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
}

/**
 * An error from connect(): `status` (default 503) is answered with errorResponse(status) and
 * logged with `termination` (default "SC--"). connect() fills deps.log's backend, server, tw,
 * tc, retries and redispatched itself as it routes and retries.
 */
export interface WsConnectError extends Error {
  status?: number;
  termination?: string;
}

export interface WsDeps {
  /** Routing + balancing + the connect attempt loop (timeout connect, retries, redispatch). */
  connect(): Promise<WsUpstream>;
  /** Lines appended to the upstream handshake, e.g. ["x-forwarded-for", "10.0.0.1"]. */
  extraHeaders: [string, string][];
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
  /** HAProxy's own error pages (400, 502, 503, 504); defaults to defaultErrorResponse. */
  errorResponse?(status: number): Response;
  /** Bytes of that page on the wire, for the log; 400 is logged 0 as HAProxy's parser does. */
  errorBytes?(status: number): number;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<WsLimits>;
  /** Aborting it ends the tunnel with close 1001 both ways (proxy shutdown), logged KD--. */
  signal?: AbortSignal;
}

const PAGES: Record<number, [string, string]> = {
  400: ["Bad request", "Your browser sent an invalid request."],
  502: ["Bad Gateway", "The server returned an invalid or incomplete response."],
  503: ["Service Unavailable", "No server is available to handle this request."],
  504: ["Gateway Time-out", "The server didn't respond in time."],
};

/** HAProxy 2.6's error pages (haproxy-semantics §3.24); 400 closes the connection. */
export function defaultErrorResponse(status: number): Response {
  const [reason, text] = PAGES[status] ?? ["Error", "An error occurred."];
  const body = `<html><body><h1>${status} ${reason}</h1>\n${text}\n</body></html>\n`;
  const headers: Record<string, string> = {
    "cache-control": "no-cache",
    "content-type": "text/html",
  };
  if (status === 400) headers.connection = "close";
  return new Response(body, { status, statusText: reason, headers });
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

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Proxies one WebSocket upgrade request (the proxy room calls it when isWebSocketUpgrade()).
 * Always resolves to the Response for the client; logs exactly once (when the tunnel or the
 * relayed response ends).
 */
export async function proxyWebSocket(
  req: Request,
  info: RequestInfo,
  deps: WsDeps,
): Promise<Response> {
  const log = deps.log;
  const errorPage = deps.errorResponse ?? defaultErrorResponse;
  let counters: Counters[] = [];
  const emit = (status: number, termination: string, bytes: number) => {
    log.status = status;
    log.termination = termination;
    log.bytesRead = bytes;
    log.ta = since(log);
    for (const c of counters) c.countStatus(status);
    deps.logger.request(log.frontend, log);
  };
  const fail = (status: number, termination: string): Response => {
    const res = errorPage(status);
    emit(status, termination, status === 400 ? 0 : deps.errorBytes?.(status) ?? 0);
    return res;
  };

  const hs = checkClientHandshake(info);
  if (typeof hs === "string") {
    // Refused by the parser before routing, like HAProxy: "<BADREQ>", PR--.
    log.backend = log.frontend;
    log.server = null;
    log.requestLine = null;
    log.tw = log.tc = log.tres = -1;
    return fail(400, "PR--");
  }

  let up: WsUpstream;
  try {
    up = await deps.connect();
  } catch (err) {
    const e = err as WsConnectError;
    return fail(typeof e?.status === "number" ? e.status : 503, e?.termination ?? "SC--");
  }
  counters = up.counters;
  log.backend = up.backend;
  log.server = up.server;
  const release = connRelease(up);

  const bc = new BufferedConn(up.conn);
  let head: ResponseHead;
  const accept = acceptFor(hs.key);
  const sentAt = Date.now();
  try {
    await writeAll(up.conn, upstreamHead(info, deps.extraHeaders));
    do {
      head = await bc.readHead(deps.timeouts.server);
    } while (head.status >= 100 && head.status < 200 && head.status !== 101);
  } catch (err) {
    release();
    log.tres = -1;
    if (err instanceof ReadTimeout) return fail(504, "sH--");
    if (err instanceof HeadError && /bad |larger/.test(err.message)) return fail(502, "PH--");
    return fail(502, "SH--");
  }
  log.tres = Date.now() - sentAt;

  if (head.status !== 101) return relayRefusal(head, bc, deps, emit, release);

  const bad = check101(head, await accept, hs.protocols);
  if (bad !== null) {
    release();
    return fail(502, "PH--");
  }
  const protocol = headerValue(head, "sec-websocket-protocol") || undefined;
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(req, { protocol, idleTimeout: 0 });
  } catch {
    release();
    return fail(502, "PH--");
  }
  const { socket, response } = upgraded;
  // Other headers of the backend's 101 (Set-Cookie, ...) go to the client too.
  let headSize = 34 + 37 + 2; // status line, date, blank line
  for (const [name, value] of response.headers) headSize += name.length + value.length + 4;
  for (const [name, value] of head.headers) {
    const n = name.toLowerCase();
    if (DROP_RESPONSE.has(n) || OWN_101.has(n)) continue;
    response.headers.append(n, value);
    headSize += n.length + value.length + 4;
  }
  for (const c of counters) c.countStatus(101);
  counters = []; // counted; emit() must not count again
  new Tunnel({
    socket,
    conn: up.conn,
    initial: bc.takeBuffered(),
    idle: tunnelIdle(deps.timeouts),
    limits: deps.limits ? { ...DEFAULT_LIMITS, ...deps.limits } : DEFAULT_LIMITS, // read-only
    counters: up.counters,
    signal: deps.signal,
    onEnd: tunnelEnd(log, deps.logger, headSize),
    onConnClosed: connRelease(up), // the tunnel owns the socket from here on
  });
  return response;
}

// The two callbacks a tunnel keeps for its whole life are built apart from proxyWebSocket(),
// so that they do not keep its scope (the deps, with the request's RequestInfo and headers).

/** Logs the tunnel's end (its 101 was counted already): emit() without countStatus. */
function tunnelEnd(
  log: RequestLog,
  logger: AccessLogger,
  headSize: number,
): (termination: string, bytesToClient: number) => void {
  return (termination, bytesToClient) => {
    log.status = 101;
    log.termination = termination;
    log.bytesRead = headSize + bytesToClient;
    log.ta = since(log);
    logger.request(log.frontend, log);
  };
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

/** The backend said no (403, 404, 500...): its answer goes to the client as it is. */
function relayRefusal(
  head: ResponseHead,
  bc: BufferedConn,
  deps: WsDeps,
  emit: (status: number, termination: string, bytes: number) => void,
  release: () => void,
): Response {
  const listed = new Set<string>();
  for (const [n, v] of head.headers) {
    if (n.toLowerCase() === "connection") {
      for (const t of v.split(",")) listed.add(t.trim().toLowerCase());
    }
  }
  let res: Response;
  let body: ReadableStream<Uint8Array> | null;
  try {
    const headers = new Headers();
    for (const [name, value] of head.headers) {
      const n = name.toLowerCase();
      if (DROP_RESPONSE.has(n) || listed.has(n)) continue;
      headers.append(n, value);
    }
    // A status, reason or header Response cannot carry is the server's fault: 502.
    if (head.status < 200 || head.status > 599) throw new HeadError("bad status");
    res = new Response(null, { status: head.status, statusText: head.reason, headers });
    // A 205 has no content (Response refuses one): whatever the server sent is not read.
    body = head.status === 205
      ? null
      : responseBody(bc, head, deps.timeouts.server, (termination, bytes) => {
        release();
        emit(head.status, termination, head.size + bytes);
      });
  } catch {
    release();
    const res = (deps.errorResponse ?? defaultErrorResponse)(502);
    emit(502, "PH--", 0);
    return res;
  }
  if (head.status === 205) {
    release();
    emit(205, "----", head.size);
  }
  return body === null ? res : new Response(body, res);
}
