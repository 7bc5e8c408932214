// HTTP/1.x response head parsing (status line + header lines, kept as sent) and the framing
// decision of RFC 9112 §6.3, with HAProxy's strictness: anything unparsable is a 502 (PH--).

import type { UpstreamConn } from "./conn.ts";
import { UpstreamError } from "./errors.ts";

export type BodyMode = "none" | "length" | "chunked" | "close";

export interface ResponseHead {
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  status: number;
  reason: string;
  /** Header lines as sent (names as sent; every Set-Cookie line kept). */
  headers: [string, string][];
  bodyMode: BodyMode;
  /** Content-Length when bodyMode is "length" (or the HEAD answer's announced length), else -1. */
  length: number;
  /** The server allows another request on this connection. */
  keepAlive: boolean;
  /** Bytes of the head on the wire (status line to the empty line). */
  headBytes: number;
  /** Lower-cased names the Connection header lists (hop-by-hop for this response). */
  connectionTokens: string[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;

/** Latin-1 decode (header bytes are octets; TextDecoder("latin1") is windows-1252). */
export function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(to, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/** Index just past the "\r\n\r\n" (or "\n\n") ending a head within buf[from, to), or -1. */
function findHeadEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buf[i] !== 10) continue;
    // i is a LF: the head ends if the previous line was empty.
    if (i + 1 < to && buf[i + 1] === 10) return i + 2;
    if (i + 2 < to && buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
  }
  return -1;
}

/**
 * Reads one response head from `uc` (1xx interim answers other than 101 are skipped, like a
 * proxy that cannot relay them). `onFirstByte` is called once when the first byte arrives.
 * Throws UpstreamError: "invalid-response" for garbage, "closed-after-send" (or "stale-reused"
 * on a reused connection) for EOF before a complete head.
 */
export async function readResponseHead(
  uc: UpstreamConn,
  method: string,
  onFirstByte?: () => void,
): Promise<ResponseHead> {
  let gotByte = uc.buffered > 0;
  if (gotByte) onFirstByte?.();
  for (;;) {
    let scanFrom = uc.start;
    let end = -1;
    while ((end = findHeadEnd(uc.buf, Math.max(uc.start, scanFrom - 2), uc.end)) === -1) {
      scanFrom = uc.end;
      const before = uc.start;
      let n: number;
      try {
        n = await uc.fill();
      } catch (err) {
        if (err instanceof UpstreamError) throw err;
        throw new UpstreamError(
          !gotByte && uc.reused ? "stale-reused" : "closed-after-send",
          `server connection error: ${err instanceof Error ? err.message : err}`,
          { cause: err },
        );
      }
      scanFrom -= before - uc.start; // fill() may have compacted the buffer
      if (n === 0) {
        throw new UpstreamError(
          !gotByte && uc.reused ? "stale-reused" : "closed-after-send",
          gotByte ? "server closed during the response head" : "server closed without a response",
        );
      }
      if (!gotByte) {
        gotByte = true;
        onFirstByte?.();
      }
    }
    const headStart = uc.start;
    uc.start = end;
    const head = parseHead(uc.buf, headStart, end, method);
    if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
    return head;
  }
}

export function parseHead(
  buf: Uint8Array,
  from: number,
  to: number,
  method: string,
): ResponseHead {
  const text = latin1(buf, from, to);
  const lines = text.split("\n");
  let statusLine = lines[0];
  if (statusLine.endsWith("\r")) statusLine = statusLine.slice(0, -1);
  const m = STATUS_LINE.exec(statusLine);
  if (!m) throw new UpstreamError("invalid-response", "invalid status line");
  const minor = m[1];
  const status = Number(m[2]);
  if (status < 100) throw new UpstreamError("invalid-response", "invalid status code");
  const headers: [string, string][] = [];
  let contentLength = -1;
  let chunked = false;
  let te = false;
  let connection = "";
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UpstreamError("invalid-response", "invalid header line");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new UpstreamError("invalid-response", "invalid header name");
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) throw new UpstreamError("invalid-response", "invalid header value");
    headers.push([name, value]);
    const lower = name.length === 14 || name.length === 17 || name.length === 10
      ? name.toLowerCase()
      : "";
    if (lower === "content-length") {
      for (const part of value.split(",")) {
        const p = part.trim();
        if (!/^\d{1,15}$/.test(p)) {
          throw new UpstreamError("invalid-response", "invalid content-length");
        }
        const n = Number(p);
        if (contentLength !== -1 && contentLength !== n) {
          throw new UpstreamError("invalid-response", "conflicting content-length");
        }
        contentLength = n;
      }
    } else if (lower === "transfer-encoding") {
      te = true;
      const codings = value.toLowerCase().split(",");
      chunked = codings[codings.length - 1].trim() === "chunked";
    } else if (lower === "connection") {
      connection = connection ? `${connection},${value}` : value;
    }
  }
  const connectionTokens = connection
    ? connection.toLowerCase().split(",").map((t) => t.trim()).filter((t) => t)
    : [];
  let keepAlive = minor === "1"
    ? !connectionTokens.includes("close")
    : connectionTokens.includes("keep-alive");
  let bodyMode: BodyMode;
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) bodyMode = "none";
  else if (te) bodyMode = chunked ? "chunked" : "close";
  else if (contentLength !== -1) bodyMode = "length";
  else bodyMode = "close";
  if (bodyMode === "close") keepAlive = false;
  if (bodyMode === "length" && contentLength === 0) bodyMode = "none";
  return {
    version: `HTTP/1.${minor}`,
    status,
    reason: m[3] ?? "",
    headers,
    bodyMode,
    length: contentLength,
    keepAlive,
    headBytes: to - from,
    connectionTokens,
  };
}
