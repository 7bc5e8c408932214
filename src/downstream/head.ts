// HTTP/1.x request head parsing for our own client-side server: request line + header lines,
// validated with HAProxy's strictness (anything malformed is a 400) and the framing decision of
// RFC 9112 §6.3 (including the request smuggling defences: Transfer-Encoding wins over
// Content-Length and the connection is closed afterwards; differing Content-Lengths are refused).
//
// Hot path (about 0.8 µs for a typical 8-header browser request): one pass over the bytes
// validates and locates everything through lookup tables (no regex), common header names are
// recognized in the byte domain (no string made for them), one string is decoded for the whole
// head and sliced, and the web-Headers-like lookup view is built only when something asks.

import { findHeadEnd, headerTokens, latin1, parseContentLength } from "../upstream/response.ts";

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** Largest request head accepted by default (leading empty lines included): 400 beyond it. */
export const MAX_HEAD = 65536;
/** Most header lines accepted in one request head. */
export const MAX_HEADER_LINES = 100;

export interface RequestHead {
  /** As received (case-sensitive token). */
  method: string;
  /** Request-target exactly as received (origin-form, absolute-form, "*", authority-form). */
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  /**
   * Header lines in order: [name lower-cased, value with leading/trailing SP/HTAB trimmed];
   * duplicates kept. Content-Length lines are folded into one (value normalized to the number)
   * and removed altogether when Transfer-Encoding is present.
   */
  lines: [string, string][];
  /** Lookup view for ACLs: see HeaderMap. */
  headers: HeaderMap;
  /** Bytes of the head on the wire (request line through the final CRLF). */
  size: number;
  /** "none" also for `Content-Length: 0` (contentLength is 0 then). */
  bodyKind: "none" | "length" | "chunked";
  /**
   * Content-Length when one was given and no Transfer-Encoding (bodyKind "length", or "none"
   * for 0), else -1.
   */
  contentLength: number;
  /**
   * The client allows another request on this connection after this one (HTTP/1.1 without
   * Connection: close; HTTP/1.0 with Connection: keep-alive). Forced false when
   * Transfer-Encoding and Content-Length were both present.
   */
  keepAlive: boolean;
  /** Lower-cased tokens of all Connection headers (shared lists: never modified). */
  connectionTokens: readonly string[];
  /** Expect: 100-continue (case-insensitive) on an HTTP/1.1 request with a body. */
  expectContinue: boolean;
}

export class RequestHeadError extends Error {
  constructor(readonly status: 400 | 408 | 422 | 501 | 505, message: string) {
    super(message);
    this.name = "RequestHeadError";
  }
}

// Byte classes.
/** tchar (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}
/** Field value bytes: HTAB, SP, VCHAR, obs-text (no other CTL, no DEL). */
const FIELD = new Uint8Array(256);
/** Request-target bytes: anything but SP, CTLs and DEL. */
const TARGET = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ctl = c < 32 || c === 127;
  FIELD[c] = !ctl || c === 9 ? 1 : 0;
  TARGET[c] = !ctl && c !== 32 ? 1 : 0;
}
/** ASCII lower-casing by byte. */
const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;

function bad(message: string): RequestHeadError {
  return new RequestHeadError(400, message);
}

function hex(c: number): string {
  return "0x" + c.toString(16).padStart(2, "0");
}

/**
 * Parses one request head from buf[start, end). Returns null when the head is incomplete (no
 * empty line yet) and end - start < maxSize; throws RequestHeadError (400, or 505 for an
 * unsupported HTTP version) when it is larger than maxSize or malformed (also when an incomplete
 * head is already malformed). Leading empty lines before the request line are skipped and counted
 * in `consumed` (and in maxSize).
 *
 * `scanFrom` (optional): the `end` of the previous call that returned null for this same head
 * (adjusted if the bytes moved, like `start`). The next call then first looks for the end of the
 * head in the new bytes only, so that a client trickling its head in many small reads does not
 * cost a full parse per read.
 */
export function parseRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  maxSize = MAX_HEAD,
  scanFrom = start,
): { head: RequestHead; consumed: number } | null {
  // Leading empty lines (RFC 9112 §2.2).
  let p = start;
  for (;;) {
    if (p < end && buf[p] === 10) p++;
    else if (p + 1 < end && buf[p] === 13 && buf[p + 1] === 10) p += 2;
    else break;
  }
  const limit = end - start > maxSize ? start + maxSize : end;
  const head = (p + 1 === end && buf[p] === 13) || // a CR whose LF has not arrived yet
      (scanFrom > p && findHeadEnd(buf, Math.max(p, scanFrom - 2), limit) === -1)
    ? null
    : parseHead(buf, p, limit);
  if (head === null) {
    if (end - start >= maxSize) throw bad(`request head larger than ${maxSize} bytes`);
    return null;
  }
  return { head, consumed: p - start + head.size };
}

/** Header names most requests carry: matched in the byte domain, no string made per request. */
const KNOWN_NAMES = (
  "host user-agent accept accept-language accept-encoding accept-charset connection keep-alive " +
  "cookie upgrade-insecure-requests content-length content-type content-encoding " +
  "transfer-encoding te expect referer origin cache-control pragma upgrade authorization " +
  "if-modified-since if-none-match if-range range dnt priority x-requested-with x-forwarded-for " +
  "x-forwarded-proto x-forwarded-host x-real-ip forwarded via sec-fetch-dest sec-fetch-mode " +
  "sec-fetch-site sec-fetch-user sec-ch-ua sec-ch-ua-mobile sec-ch-ua-platform sec-websocket-key " +
  "sec-websocket-version sec-websocket-extensions sec-websocket-protocol sec-gpc"
).split(" ");
const KNOWN_SLOTS = 512; // power of two, well above 2 × KNOWN_NAMES.length
const knownName: (string | undefined)[] = new Array(KNOWN_SLOTS);
const knownBytes: (Uint8Array | undefined)[] = new Array(KNOWN_SLOTS);
for (const name of KNOWN_NAMES) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
  let slot = h & (KNOWN_SLOTS - 1);
  while (knownName[slot] !== undefined) slot = (slot + 1) & (KNOWN_SLOTS - 1);
  knownName[slot] = name;
  knownBytes[slot] = Uint8Array.from(name, (c) => c.charCodeAt(0));
}

/** The interned lower-cased name when buf[from, to) is a known name (any case), else null. */
function lookupKnown(buf: Uint8Array, from: number, to: number, hash: number): string | null {
  const len = to - from;
  for (let slot = hash & (KNOWN_SLOTS - 1);; slot = (slot + 1) & (KNOWN_SLOTS - 1)) {
    const k = knownBytes[slot];
    if (k === undefined) return null;
    if (k.length !== len) continue;
    let i = 0;
    while (i < len && LOWER[buf[from + i]] === k[i]) i++;
    if (i === len) return knownName[slot]!;
  }
}

let parses = 0;
/** Full parses started so far (a client trickling its head must not cost one per read). */
export function fullHeadParses(): number {
  return parses;
}

const utf8 = new TextDecoder();
/** Per-line offsets of the header being parsed: name start/end, value start/end, known name. */
const NAME_AT = 0, NAME_END = 1, VALUE_AT = 2, VALUE_END = 3, STRIDE = 4;
const offsets = new Int32Array((MAX_HEADER_LINES + 1) * STRIDE);
const known: (string | null)[] = new Array(MAX_HEADER_LINES + 1).fill(null);

/**
 * Parses the head starting at `from` (the request line) within buf[from, limit); null when it
 * does not end there. One pass over the bytes validates and locates the lines, then one string
 * for the whole head (a UTF-8 decode when it is all ASCII, much faster than latin-1 through
 * String.fromCharCode) is sliced into the values.
 */
function parseHead(buf: Uint8Array, from: number, limit: number): RequestHead | null {
  parses++;
  // Request line: method SP request-target SP HTTP-version.
  let i = from;
  while (i < limit && TCHAR[buf[i]] === 1) i++;
  if (i === limit) return null;
  const sp1 = i;
  if (buf[sp1] !== 32) {
    const c = buf[sp1];
    if (c === 13 && sp1 + 1 < limit && buf[sp1 + 1] !== 10) {
      throw bad("request line: CR without LF");
    }
    if (c === 13 || c === 10) throw bad("request line: no space after the method");
    throw bad(`request line: invalid character ${hex(c)} in the method`);
  }
  if (sp1 === from) throw bad("request line: empty method");
  let high = 0; // OR of the bytes: bit 7 set when some are not ASCII
  i = sp1 + 1;
  while (i < limit && TARGET[buf[i]] === 1) high |= buf[i++];
  if (i === limit) return null;
  const sp2 = i;
  if (buf[sp2] !== 32) {
    const c = buf[sp2];
    if (c === 13 && sp2 + 1 < limit && buf[sp2 + 1] !== 10) {
      throw bad("request line: CR without LF");
    }
    if (c === 13 || c === 10) {
      throw bad(
        sp2 === sp1 + 1
          ? "request line: empty request-target"
          : "request line: no space after the request-target",
      );
    }
    throw bad(`request line: invalid character ${hex(c)} in the request-target`);
  }
  if (sp2 === sp1 + 1) throw bad("request line: empty request-target (or two spaces)");
  const v = sp2 + 1;
  i = v;
  while (i < limit && buf[i] !== 10 && buf[i] !== 13) i++;
  if (i === limit || (buf[i] === 13 && i + 1 === limit)) return null;
  if (buf[i] === 13 && buf[i + 1] !== 10) throw bad("request line: CR without LF");
  const rlEnd = i;
  let pos = buf[i] === 13 ? i + 2 : i + 1;
  let version: "HTTP/1.0" | "HTTP/1.1";
  if (
    rlEnd - v === 8 && buf[v] === 72 && buf[v + 1] === 84 && buf[v + 2] === 84 &&
    buf[v + 3] === 80 && buf[v + 4] === 47 && buf[v + 5] === 49 && buf[v + 6] === 46 &&
    (buf[v + 7] === 48 || buf[v + 7] === 49) // "HTTP/1.0" or "HTTP/1.1"
  ) {
    version = buf[v + 7] === 49 ? "HTTP/1.1" : "HTTP/1.0";
  } else {
    const vs = latin1(buf, v, rlEnd);
    if (latin1(buf, from, sp2) === "PRI *" && vs === "HTTP/2.0") {
      throw bad("HTTP/2 connection preface (prior-knowledge h2c is not supported)");
    }
    if (/^HTTP\/[0-9]\.[0-9]$/.test(vs)) {
      throw new RequestHeadError(505, `unsupported HTTP version ${vs}`);
    }
    throw bad(`request line: invalid HTTP version ${JSON.stringify(vs)}`);
  }

  // Header lines: validated and located on the bytes.
  let n = 0; // header lines
  let to: number; // just past the empty line
  for (;;) {
    if (pos === limit) return null;
    let c = buf[pos];
    if (c === 10) {
      to = pos + 1;
      break;
    }
    if (c === 13) {
      if (pos + 1 === limit) return null;
      if (buf[pos + 1] !== 10) throw bad(`header line ${n + 1}: CR without LF`);
      to = pos + 2;
      break;
    }
    if (++n > MAX_HEADER_LINES) throw bad(`more than ${MAX_HEADER_LINES} header lines`);
    let h = 0;
    i = pos;
    while (i < limit && TCHAR[c = buf[i]] === 1) {
      h = (Math.imul(h, 31) + LOWER[c]) | 0;
      i++;
    }
    if (i === limit) return null;
    if (c !== 58) throw badName(buf, pos, i, limit, n); // ":"
    if (i === pos) throw bad(`header line ${n}: empty header name`);
    let j = i + 1;
    while (j < limit && FIELD[c = buf[j]] === 1) {
      high |= c;
      j++;
    }
    if (j === limit) return null;
    let next: number;
    if (c === 10) next = j + 1;
    else if (c === 13 && j + 1 < limit && buf[j + 1] === 10) next = j + 2;
    else if (c === 13 && j + 1 === limit) return null;
    else throw bad(`header line ${n}: invalid character ${hex(c)} in the value`);
    let vs = i + 1;
    let ve = j;
    while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    const o = n * STRIDE;
    offsets[o + NAME_AT] = pos - from;
    offsets[o + NAME_END] = i - from;
    offsets[o + VALUE_AT] = vs - from;
    offsets[o + VALUE_END] = ve - from;
    known[n] = lookupKnown(buf, pos, i, h);
    pos = next;
  }

  const text = (high & 0x80) === 0 ? utf8.decode(buf.subarray(from, to)) : latin1(buf, from, to);
  const method = text.slice(0, sp1 - from);
  const target = text.slice(sp1 + 1 - from, sp2 - from);
  const lines: [string, string][] = [];
  let contentLength = -1;
  let clLines = 0;
  let te: string[] | null = null;
  let connection: string | null = null;
  let expect: string | null = null;
  let hosts = 0;
  for (let k = 1; k <= n; k++) {
    const o = k * STRIDE;
    const name = known[k] ?? text.slice(offsets[o + NAME_AT], offsets[o + NAME_END]).toLowerCase();
    known[k] = null;
    const value = text.slice(offsets[o + VALUE_AT], offsets[o + VALUE_END]);
    switch (name.length) {
      case 4:
        if (name === "host" && ++hosts > 1) throw bad(`header line ${k}: more than one Host`);
        break;
      case 6:
        if (name === "expect") expect = expect === null ? value : `${expect}, ${value}`;
        break;
      case 10:
        if (name === "connection") {
          connection = connection === null ? value : `${connection}, ${value}`;
        }
        break;
      case 14:
        if (name === "content-length") {
          const len = parseContentLength(
            value,
            contentLength,
            (why) => bad(`header line ${k}: ${why}`),
          );
          clLines++;
          if (contentLength !== -1) continue; // the same value again: keep the first line only
          contentLength = len;
          lines.push([name, isDigits(value) ? value : String(len)]);
          continue;
        }
        break;
      case 17:
        if (name === "transfer-encoding") (te ??= []).push(value);
        break;
    }
    lines.push([name, value]);
  }

  const connectionTokens = connection === null ? NO_TOKENS : headerTokens(connection);
  let keepAlive = version === "HTTP/1.1"
    ? !connectionTokens.includes("close")
    : connectionTokens.includes("keep-alive");
  let bodyKind: RequestHead["bodyKind"] = "none";
  if (te !== null) {
    if (version === "HTTP/1.0") throw bad("Transfer-Encoding in an HTTP/1.0 request");
    checkTransferEncoding(te);
    bodyKind = "chunked";
    if (clLines > 0) {
      // RFC 9112 §6.3: chunked wins; the Content-Length is dropped and the connection closed.
      for (let k = lines.length - 1; k >= 0; k--) {
        if (lines[k][0] === "content-length") lines.splice(k, 1);
      }
      contentLength = -1;
      keepAlive = false;
    }
  } else if (contentLength > 0) bodyKind = "length";
  const expectContinue = expect !== null && bodyKind !== "none" && version === "HTTP/1.1" &&
    expect.toLowerCase() === "100-continue";
  return {
    method,
    target,
    version,
    lines,
    headers: new HeaderMap(lines),
    size: to - from,
    bodyKind,
    contentLength,
    keepAlive,
    connectionTokens,
    expectContinue,
  };
}

/** The error for a header line whose name (from `from`) is not a token followed by a colon. */
function badName(buf: Uint8Array, from: number, at: number, limit: number, n: number) {
  const c = buf[from];
  if (c === 32 || c === 9) return bad(`header line ${n}: starts with whitespace (obs-fold)`);
  const d = buf[at];
  if (d === 32 || d === 9) {
    // Whitespace before the colon, unless the line has no colon at all.
    let k = at;
    while (k < limit && buf[k] !== 58 && buf[k] !== 10) k++;
    if (k < limit && buf[k] === 10) return bad(`header line ${n}: no colon`);
    return bad(`header line ${n}: whitespace before colon`);
  }
  if (d === 13 || d === 10) return bad(`header line ${n}: no colon`);
  return bad(`header line ${n}: invalid character ${hex(d)} in the header name`);
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Transfer-Encoding (its lines in order), as HAProxy 2.6 judges it: chunked must be the last
 * coding (else we cannot find the end of the body: 400, rather than 501) and appear once, and
 * nothing may come after it (400); any other coding before it (`gzip, chunked`,
 * `identity, chunked`, an empty element) is refused with 422. So a body forwarded upstream is
 * only ever chunked, and the proxy writes `transfer-encoding: chunked` itself.
 */
function checkTransferEncoding(lines: string[]): void {
  let chunked = false;
  let other = false;
  for (const value of lines) {
    // HAProxy's walk: leading SP/HTAB skipped, a word runs to the next comma, and a comma
    // right after a word ends it (so one trailing comma adds no element, a leading one does).
    let p = 0;
    while (p < value.length) {
      const c = value.charCodeAt(p);
      if (c === 32 || c === 9) {
        p++;
        continue;
      }
      let n = value.indexOf(",", p);
      if (n === -1) n = value.length;
      let e = n;
      while (e > p && (value.charCodeAt(e - 1) === 32 || value.charCodeAt(e - 1) === 9)) e--;
      if (value.slice(p, e).toLowerCase() === "chunked") {
        if (chunked) {
          throw bad(`Transfer-Encoding ${JSON.stringify(value)}: chunked more than once`);
        }
        chunked = true;
      } else if (chunked) {
        throw bad(`Transfer-Encoding ${JSON.stringify(value)}: the last coding is not chunked`);
      } else other = true;
      p = n + 1;
    }
  }
  const all = JSON.stringify(lines.join(", "));
  if (!chunked && !other) throw bad("empty Transfer-Encoding");
  if (!chunked) throw bad(`Transfer-Encoding ${all}: the last coding is not chunked`);
  if (other) {
    throw new RequestHeadError(
      422,
      `Transfer-Encoding ${all}: a coding other than chunked (only chunked is accepted)`,
    );
  }
}

/**
 * The request's header lines as a lookup (replaces the web Headers class for ACL fetches):
 * lower-cased names; get() joins same-name values with ", " (null when absent); iteration
 * yields [name, combined value] pairs in first-seen order. Built from `lines` on first use
 * (most requests never look), so changes to `lines` after that are not seen.
 */
export class HeaderMap {
  private map: Map<string, string> | null = null;

  constructor(private readonly lines: [string, string][]) {}

  private build(): Map<string, string> {
    const map = new Map<string, string>();
    for (const [name, value] of this.lines) {
      const prev = map.get(name);
      map.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    this.map = map;
    return map;
  }

  /** Same-name values joined with ", ", or null (the name is matched case-insensitively). */
  get(name: string): string | null {
    return (this.map ?? this.build()).get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return (this.map ?? this.build()).has(name.toLowerCase());
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return (this.map ?? this.build()).entries();
  }

  /** The lines were edited (http-request rules): the view is rebuilt when next asked. */
  invalidate(): void {
    this.map = null;
  }
}
