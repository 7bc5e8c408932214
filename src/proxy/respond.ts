// The server's answer on its way to the client, for plain requests and for WebSocket upgrades
// the backend refused: head lines filtered (hop-by-hop out), framing chosen by the client
// side, small bodies in one write, others streamed with backpressure, trailers and interim
// (1xx) answers relayed.

import type { ClientExchange, Framing } from "../downstream/types.ts";
import type { BodyEnd, Exchange } from "../upstream/exchange.ts";
import { HOP_BY_HOP } from "../upstream/request.ts";
import { lowerName, type ResponseHead } from "../upstream/response.ts";

/** The log's termination state for each way a response body ends. */
export const TERMINATION: Record<BodyEnd, string> = {
  "done": "----",
  "client-abort": "CD--",
  "client-timeout": "cD--",
  "server-abort": "SD--",
  "server-timeout": "sD--",
};

/** How relaying an answer ended. */
export interface Relayed {
  end: BodyEnd;
  /** Bytes the client was sent (head included; 0 when the head could not be written). */
  bytes: number;
  /** The server connection may go back to the pool. */
  reusable: boolean;
}

const EMPTY = new Uint8Array(0);
const NO_BODY: Framing = { kind: "none" };
const STREAM: Framing = { kind: "stream" };

/**
 * Answers `ex` with the response `h` that `exchange` read. `settled` is called once, as soon
 * as the outcome is known (before a small answer is written, after a streamed body ended), so
 * that the caller logs and frees the server connection then. Never rejects.
 */
export async function relayResponse(
  ex: ClientExchange,
  exchange: Exchange,
  h: ResponseHead,
  settled: (r: Relayed) => void,
): Promise<void> {
  if (h.status === 205 && h.bodyMode !== "none") {
    // A 205 has no content (RFC 9110 §15.3.6): answer it bodiless and close the server
    // connection (the body it sent anyway is not read).
    exchange.abort();
    settled({ end: "done", bytes: h.headBytes, reusable: false });
    await ex.sendWhole(205, h.reason, responseLines(h, false), EMPTY).catch(() => {});
    return;
  }
  const small = exchange.takeBufferedBody();
  if (small !== null) {
    // sendWhole() copies the body (a view into the server connection's buffer) before it
    // first waits: the connection can be released then, before the client has the answer.
    const sent = ex.sendWhole(h.status, h.reason, responseLines(h, false), small);
    settled({ end: "done", bytes: h.headBytes + small.length, reusable: exchange.reusable() });
    try {
      await sent;
    } catch { /* client gone: logged already */ }
    return;
  }
  const mode = h.bodyMode;
  try {
    await ex.sendHead(
      h.status,
      h.reason,
      responseLines(h, mode === "none"),
      mode === "none" ? NO_BODY : mode === "length" ? { kind: "length", length: h.length } : STREAM,
    );
  } catch {
    exchange.abort();
    settled({ end: "client-abort", bytes: 0, reusable: false });
    return;
  }
  const result = await exchange.relayBody(ex);
  settled({ end: result.end, bytes: h.headBytes + result.bytes, reusable: result.reusable });
  if (result.end === "done") {
    await ex.end(trailerLines(result.trailers)).catch(() => {});
  } else ex.abort();
}

/**
 * The server's header lines for the client, as "name: value\r\n" text: hop-by-hop ones (and
 * those its Connection header names) dropped; Content-Length dropped unless `keepLength` (a
 * bodiless answer: HEAD, 304), the client side writes the framing itself.
 */
export function responseLines(h: ResponseHead, keepLength: boolean): string {
  let s = "";
  const tokens = h.connectionTokens;
  for (const pair of h.headers) {
    const lower = lowerName(pair[0]);
    if (HOP_BY_HOP.has(lower) || (tokens.length > 0 && tokens.includes(lower))) continue;
    if (!keepLength && lower === "content-length") continue;
    s += `${lower}: ${pair[1]}\r\n`;
  }
  return s;
}

/** Relays the server's interim answers (103 Early Hints, ...); 100 Continue is wtproxy's own
 * (sent when the request body is first read). */
export function interimTo(ex: ClientExchange): (h: ResponseHead) => void {
  return (h) => {
    if (h.status !== 100) ex.sendInterim(h.status, h.reason, responseLines(h, true));
  };
}

/** Trailer lines of a chunked response, as text (undefined when none). */
function trailerLines(trailers: [string, string][]): string | undefined {
  if (trailers.length === 0) return undefined;
  let s = "";
  for (const [n, v] of trailers) s += `${n.toLowerCase()}: ${v}\r\n`;
  return s;
}
