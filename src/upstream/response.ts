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
  /** Lower-cased names the Connection header lists (hop-by-hop for this response); shared. */
  connectionTokens: readonly string[];
}

/** tchar (RFC 9110 §5.6.2) by char code, for header names. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

/** Latin-1 decode (header bytes are octets; TextDecoder("latin1") is windows-1252). */
export function latin1(bytes: Uint8Array, from: number, to: number): string {
  if (to - from <= 4096) {
    return String.fromCharCode.apply(null, bytes.subarray(from, to) as unknown as number[]);
  }
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(to, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/** Index just past the "\r\n\r\n" (or "\n\n") ending a head within buf[from, to), or -1
 * (LFs are searched from `from`, at or after the start of the first line). Both directions. */
export function findHeadEnd(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    i = buf.indexOf(10, i);
    if (i === -1 || i >= to) return -1;
    // i is a LF: the head ends if the previous line was empty.
    if (i + 1 < to && buf[i + 1] === 10) return i + 2;
    if (i + 2 < to && buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
    i++;
  }
  return -1;
}

/**
 * Reads one response head from `uc`: 1xx interim answers other than 101 go to `onInterim`
 * (when given) and the read goes on. `timing.onFirstByte()` is called once when the first byte
 * arrives.
 * Throws UpstreamError: "invalid-response" for garbage, "closed-after-send" (or "stale-reused"
 * on a reused connection) for EOF before a complete head.
 */
export async function readResponseHead(
  uc: UpstreamConn,
  method: string,
  timing?: { onFirstByte(): void },
  onInterim?: (head: ResponseHead) => void,
): Promise<ResponseHead> {
  let gotByte = uc.buffered > 0;
  if (gotByte) timing?.onFirstByte();
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
        timing?.onFirstByte();
      }
    }
    const headStart = uc.start;
    uc.start = end;
    const head = parseHead(uc.buf, headStart, end, method);
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      onInterim?.(head);
      continue;
    }
    return head;
  }
}

function invalid(message: string): UpstreamError {
  return new UpstreamError("invalid-response", message);
}

/** Trims optional whitespace (SP / HTAB) around a header value. */
function trimOws(s: string, from: number, to: number): string {
  while (from < to && (s.charCodeAt(from) === 32 || s.charCodeAt(from) === 9)) from++;
  while (to > from && (s.charCodeAt(to - 1) === 32 || s.charCodeAt(to - 1) === 9)) to--;
  return s.slice(from, to);
}

/**
 * A Content-Length value: comma-separated equal decimal numbers (at most 15 digits each, OWS
 * around commas), equal to `previous` unless that is -1. Both directions use it; `fail` makes
 * the caller's error from the reason.
 */
export function parseContentLength(
  value: string,
  previous: number,
  fail: (why: string) => Error,
): number {
  let n = previous;
  let i = 0;
  for (;;) {
    while (i < value.length && (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9)) i++;
    let v = 0;
    const digits = i;
    while (i < value.length) {
      const c = value.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    if (i === digits) throw fail(`invalid Content-Length ${JSON.stringify(value)}`);
    if (i - digits > 15) throw fail("Content-Length longer than 15 digits");
    while (i < value.length && (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9)) i++;
    if (n !== -1 && n !== v) throw fail(`Content-Length values differ: ${n}, ${v}`);
    n = v;
    if (i === value.length) return n;
    if (value.charCodeAt(i) !== 44) throw fail(`invalid Content-Length ${JSON.stringify(value)}`);
    i++;
  }
}

/** Header names servers send most, as a lower-case / Title-Case pair each. */
const KNOWN = (
  "server date content-type content-length connection transfer-encoding keep-alive " +
  "cache-control expires last-modified etag set-cookie location vary accept-ranges " +
  "content-encoding content-language content-disposition x-powered-by pragma age via upgrade " +
  "access-control-allow-origin strict-transport-security x-frame-options " +
  "x-content-type-options content-security-policy referrer-policy retry-after link alt-svc " +
  "trailer www-authenticate sec-websocket-accept sec-websocket-protocol " +
  "sec-websocket-extensions"
).split(" ");
const SLOTS = 256; // power of two, well above 2 x KNOWN.length
const knownLower: (string | undefined)[] = new Array(SLOTS);
const knownTitle: string[] = new Array(SLOTS);
for (const name of KNOWN) {
  let slot = nameHash(name, 0, name.length) & (SLOTS - 1);
  while (knownLower[slot] !== undefined) slot = (slot + 1) & (SLOTS - 1);
  knownLower[slot] = name;
  knownTitle[slot] = name.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase())
    .replace("Etag", "ETag").replace("Www-", "WWW-").replace("Websocket", "WebSocket");
}

function nameHash(s: string, from: number, to: number): number {
  let h = 0;
  for (let i = from; i < to; i++) h = (Math.imul(h, 31) + (s.charCodeAt(i) | 32)) | 0;
  return h;
}

/**
 * The header name text[from, to) as a string: an interned one when it is a known name spelt
 * all lower-case or Title-Case (most answers: no string made), else a slice. "" when it is not
 * a token.
 */
function headerName(text: string, from: number, to: number): string {
  let h = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return "";
    h = (Math.imul(h, 31) + (c | 32)) | 0;
  }
  const len = to - from;
  for (let slot = h & (SLOTS - 1);; slot = (slot + 1) & (SLOTS - 1)) {
    const k = knownLower[slot];
    if (k === undefined) break;
    if (k.length !== len) continue;
    if (text.startsWith(k, from)) return k;
    const t = knownTitle[slot];
    if (text.startsWith(t, from)) return t;
  }
  return text.slice(from, to);
}

const utf8 = new TextDecoder();

/** Lower-case of a header name: interned known names map without making a string. */
const LOWER = new Map<string, string>();
for (let slot = 0; slot < SLOTS; slot++) {
  const k = knownLower[slot];
  if (k !== undefined) {
    LOWER.set(k, k);
    LOWER.set(knownTitle[slot], k);
  }
}
export function lowerName(name: string): string {
  return LOWER.get(name) ?? name.toLowerCase();
}

/**
 * Parses the head in buf[from, to) (status line to the empty line included). One string for
 * the whole head (a UTF-8 decode when it is all ASCII, much faster than latin-1 through
 * String.fromCharCode), lines found with indexOf, names checked by a char table and interned
 * when common.
 */
export function parseHead(
  buf: Uint8Array,
  from: number,
  to: number,
  method: string,
): ResponseHead {
  let high = 0;
  for (let i = from; i < to; i++) high |= buf[i];
  const text = (high & 0x80) === 0 ? utf8.decode(buf.subarray(from, to)) : latin1(buf, from, to);
  let eol = text.indexOf("\n");
  if (eol === -1) eol = text.length;
  const lineEnd = eol > 0 && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
  // "HTTP/1.x NNN[ reason]"
  if (
    lineEnd < 12 || !text.startsWith("HTTP/1.") || text.charCodeAt(8) !== 32 ||
    (lineEnd > 12 && text.charCodeAt(12) !== 32)
  ) {
    throw invalid("invalid status line");
  }
  const minor = text.charCodeAt(7);
  if (minor !== 48 && minor !== 49) throw invalid("invalid status line");
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) throw invalid("invalid status line");
    status = status * 10 + (c - 48);
  }
  if (status < 100) throw invalid("invalid status code");
  const reason = lineEnd > 13 ? text.slice(13, lineEnd) : "";
  // A reason phrase is HTAB, SP, VCHAR and obs-text (RFC 9112 §4): no other control byte.
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) throw invalid("invalid status line");
  }
  const headers: [string, string][] = [];
  let contentLength = -1;
  let chunked = false;
  let te = false;
  let connection = "";
  let pos = eol + 1;
  while (pos < text.length) {
    let nl = text.indexOf("\n", pos);
    if (nl === -1) nl = text.length;
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    const lineStart = pos;
    pos = nl + 1;
    if (end === lineStart) continue;
    const colon = text.indexOf(":", lineStart);
    if (colon === -1 || colon >= end || colon === lineStart) throw invalid("invalid header line");
    const name = headerName(text, lineStart, colon);
    if (name === "") throw invalid("invalid header name");
    const value = trimOws(text, colon + 1, end);
    if (value.indexOf("\r") !== -1 || value.indexOf("\0") !== -1) {
      throw invalid("invalid header value");
    }
    headers.push([name, value]);
    const len = name.length;
    if (len !== 14 && len !== 17 && len !== 10) continue;
    const lower = lowerName(name);
    if (lower === "content-length") {
      contentLength = parseContentLength(value, contentLength, invalid);
    } else if (lower === "transfer-encoding") {
      te = true;
      const last = value.lastIndexOf(",");
      chunked = trimOws(value, last + 1, value.length).toLowerCase() === "chunked";
    } else if (lower === "connection") {
      connection = connection ? `${connection},${value}` : value;
    }
  }
  const connectionTokens = connection ? headerTokens(connection) : NO_TOKENS;
  let keepAlive = minor === 49
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
    version: minor === 49 ? "HTTP/1.1" : "HTTP/1.0",
    status,
    reason,
    headers,
    bodyMode,
    length: contentLength,
    keepAlive,
    headBytes: to - from,
    connectionTokens,
  };
}

const NO_TOKENS: readonly string[] = Object.freeze([]);
/** The token lists most Connection headers spell, shared (no array per message). */
const COMMON_TOKENS = new Map<string, readonly string[]>();
for (const t of ["keep-alive", "close", "upgrade"]) {
  const list = Object.freeze([t]);
  for (const v of [t, t.toUpperCase(), t[0].toUpperCase() + t.slice(1)]) COMMON_TOKENS.set(v, list);
}
COMMON_TOKENS.set("Keep-Alive", COMMON_TOKENS.get("keep-alive")!);

/**
 * Lower-cased non-empty elements of a comma-separated list (Connection), trimmed of SP and HTAB
 * only (the only whitespace in HTTP: a U+00A0 or a vertical tab is part of the element). The
 * common one-token lists are shared: the result is never to be modified.
 */
export function headerTokens(list: string): readonly string[] {
  const common = COMMON_TOKENS.get(list);
  if (common !== undefined) return common;
  const out: string[] = [];
  for (const t of list.toLowerCase().split(",")) {
    let a = 0;
    let b = t.length;
    while (a < b && (t.charCodeAt(a) === 32 || t.charCodeAt(a) === 9)) a++;
    while (b > a && (t.charCodeAt(b - 1) === 32 || t.charCodeAt(b - 1) === 9)) b--;
    if (a < b) out.push(a === 0 && b === t.length ? t : t.slice(a, b));
  }
  return out;
}
