// The byte-level request head parser of our client-side server: every request-target form, the
// strictness rules (HAProxy answers 400 to anything malformed, 505 to other HTTP versions), the
// framing decision with its smuggling defences, pipelining, incomplete heads and the size limit,
// and the HeaderMap view used by ACL fetches.

import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  HeaderMap,
  MAX_HEAD,
  parseRequestHead,
  type RequestHead,
  RequestHeadError,
} from "../../src/downstream/head.ts";

const enc = new TextEncoder();

function parse(s: string | Uint8Array, maxSize?: number) {
  const b = typeof s === "string" ? enc.encode(s) : s;
  return parseRequestHead(b, 0, b.length, maxSize);
}

function head(s: string): RequestHead {
  const r = parse(s);
  assert(r !== null, `incomplete: ${JSON.stringify(s)}`);
  return r.head;
}

/** Asserts a RequestHeadError with `status` whose message contains `text`. */
function rejects(s: string | Uint8Array, status: number, text: string, maxSize?: number) {
  throws(
    () => parse(s, maxSize),
    (e: unknown) => {
      assert(e instanceof RequestHeadError, `not a RequestHeadError: ${e}`);
      assertEquals(e.status, status, `${e.message} for ${JSON.stringify(s)}`);
      assert(e.message.includes(text), `"${e.message}" lacks "${text}"`);
      return true;
    },
    JSON.stringify(s),
  );
}

const bad = (s: string, text: string) => rejects(s, 400, text);

/** One byte per character (a "\xa0" stays the single byte 0xa0). */
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

Deno.test("parseRequestHead: a browser request, names lower-cased, values trimmed", () => {
  const req = "GET /app/?wtd=abc HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X)\r\n" +
    "Accept:text/html, */*\r\nX-Custom-Thing:  \t v  w \t\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n";
  const r = parse(req)!;
  assertEquals(r.consumed, enc.encode(req).length);
  const h = r.head;
  assertEquals([h.method, h.target, h.version], ["GET", "/app/?wtd=abc", "HTTP/1.1"]);
  assertEquals(h.lines, [
    ["host", "example.com"],
    ["user-agent", "Mozilla/5.0 (X)"],
    ["accept", "text/html, */*"],
    ["x-custom-thing", "v  w"],
    ["cookie", "a=1"],
    ["cookie", "b=2"],
  ]);
  assertEquals(h.size, r.consumed);
  assertEquals([h.bodyKind, h.contentLength, h.keepAlive, h.expectContinue], [
    "none",
    -1,
    true,
    false,
  ]);
  assertEquals(h.connectionTokens, []);
});

Deno.test("parseRequestHead: request-target forms, methods, versions, empty values", () => {
  const abs = head("GET http://example.com:8080/a?b HTTP/1.1\r\n\r\n");
  assertEquals([abs.target, abs.lines], ["http://example.com:8080/a?b", []]);
  const star = head("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  assertEquals([star.method, star.target], ["OPTIONS", "*"]);
  const auth = head("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  assertEquals([auth.method, auth.target], ["CONNECT", "example.com:443"]);
  // Methods are case-sensitive tokens, kept as received.
  assertEquals(head("get / HTTP/1.1\r\n\r\n").method, "get");
  assertEquals(head("M-SEARCH * HTTP/1.1\r\n\r\n").method, "M-SEARCH");
  const h10 = head("GET / HTTP/1.0\r\nX-Empty:\r\nX-Blank:   \r\n\r\n");
  assertEquals([h10.version, h10.keepAlive], ["HTTP/1.0", false]);
  assertEquals(h10.lines, [["x-empty", ""], ["x-blank", ""]]);
  // No Host is accepted.
  assertEquals(head("GET / HTTP/1.1\r\n\r\n").lines, []);
});

Deno.test("parseRequestHead: obs-text is latin-1, also in the request-target", () => {
  const b = new Uint8Array([
    ...enc.encode("GET /caf"),
    0xe9,
    ...enc.encode(" HTTP/1.1\r\nX-Name: caf"),
    0xe9,
    0x80,
    0xff,
    ...enc.encode("\r\n\r\n"),
  ]);
  const h = parse(b)!.head;
  assertEquals(h.target, "/caf\u00e9");
  assertEquals(h.lines, [["x-name", "caf\u00e9\u0080\u00ff"]]);
});

Deno.test("parseRequestHead: bare LF line endings, leading empty lines skipped and consumed", () => {
  const lf = "GET / HTTP/1.1\nHost: a\nX: 1\n\n";
  const h = parse(lf)!;
  assertEquals([h.consumed, h.head.size], [lf.length, lf.length]);
  assertEquals(h.head.lines, [["host", "a"], ["x", "1"]]);
  const mixed = head("GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\n");
  assertEquals(mixed.lines, [["host", "a"], ["x", "1"]]);
  const lead = "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n";
  const r = parse(lead)!;
  assertEquals([r.consumed, r.head.size], [lead.length, lead.length - 5]);
  // Only empty lines (or a CR still waiting for its LF): incomplete.
  assertEquals(parse("\r\n\r\n"), null);
  assertEquals(parse("\r\n\r"), null);
});

Deno.test("parseRequestHead: pipelined heads, consumed stops at the end of the first", () => {
  const first = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
  const all = enc.encode(first + "abcGET /b HTTP/1.1\r\n\r\n");
  const r = parseRequestHead(all, 0, all.length)!;
  assertEquals([r.consumed, r.head.target, r.head.bodyKind], [first.length, "/a", "length"]);
  const second = parseRequestHead(all, r.consumed + 3, all.length)!;
  assertEquals([second.head.target, r.consumed + 3 + second.consumed], ["/b", all.length]);
  // Bytes past `end` (stale buffer contents) are never looked at.
  const stale = enc.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assertEquals(parseRequestHead(stale, 0, stale.length - 2), null);
  assertEquals(parseRequestHead(stale, 0, stale.length - 1), null);
  // A head parsed in the middle of a buffer.
  const mid = enc.encode("xxGET / HTTP/1.1\r\n\r\nyy");
  const m = parseRequestHead(mid, 2, mid.length)!;
  assertEquals([m.consumed, m.head.target], [18, "/"]);
});

Deno.test("parseRequestHead: every prefix of a valid head is incomplete, never an error", () => {
  const req = "\r\nPOST /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 2\nConnection: close\r\n\r\n";
  const b = enc.encode(req);
  for (let end = 0; end < b.length; end++) {
    assertEquals(parseRequestHead(b, 0, end), null, `prefix ${end}`);
    // The same with a resumed scan (scanFrom = the previous end).
    if (end > 0) assertEquals(parseRequestHead(b, 0, end, MAX_HEAD, end - 1), null);
  }
  assertEquals(parseRequestHead(b, 0, b.length, MAX_HEAD, b.length - 1)!.consumed, b.length);
  assertEquals(parseRequestHead(b, 0, b.length, MAX_HEAD, b.length - 2)!.consumed, b.length);
  // Byte by byte with scanFrom, as a server would do.
  let parsed = null;
  for (let end = 1; end <= b.length && parsed === null; end++) {
    parsed = parseRequestHead(b, 0, end, MAX_HEAD, end - 1);
  }
  assertEquals(parsed!.head.lines.length, 3);
});

Deno.test("parseRequestHead: an already malformed incomplete head is rejected early", () => {
  bad("GET / HTTP/1.1\r\nBad Name", "header line 1: whitespace before colon");
  bad("GE\x01", "invalid character 0x01 in the method");
  assertEquals(parse("GET / HTTP/1.1\r\nGood: value"), null);
});

Deno.test("parseRequestHead: size limit", () => {
  const big = "GET / HTTP/1.1\r\nX: " + "a".repeat(MAX_HEAD) + "\r\n\r\n";
  rejects(big, 400, `request head larger than ${MAX_HEAD} bytes`);
  rejects(big.slice(0, MAX_HEAD), 400, "larger than");
  assertEquals(parse(big.slice(0, MAX_HEAD - 1)), null);
  const small = "GET / HTTP/1.1\r\nX: 12345\r\n\r\n"; // 28 bytes
  assertEquals(parse(small, small.length)!.consumed, small.length);
  rejects(small, 400, "request head larger than 27 bytes", small.length - 1);
  rejects("\r\n" + small, 400, "larger than", small.length + 1); // leading lines count
  // The limit applies to the first head only, not to what follows it in the buffer.
  assertEquals(parse(small + "x".repeat(100), small.length)!.consumed, small.length);
});

Deno.test("parseRequestHead: request line rejections", () => {
  bad("GET  / HTTP/1.1\r\n\r\n", "empty request-target");
  bad("GET /  HTTP/1.1\r\n\r\n", "invalid HTTP version");
  bad("GET / HTTP/1.1 \r\n\r\n", "invalid HTTP version");
  bad(" GET / HTTP/1.1\r\n\r\n", "empty method");
  bad("GET\t/ HTTP/1.1\r\n\r\n", "invalid character 0x09 in the method");
  bad("G(T / HTTP/1.1\r\n\r\n", "invalid character 0x28 in the method");
  bad("GET\r\n\r\n", "no space after the method");
  bad("GET /\r\n\r\n", "no space after the request-target");
  bad("GET / \r\n\r\n", "invalid HTTP version");
  bad("GET /a\x01b HTTP/1.1\r\n\r\n", "invalid character 0x01 in the request-target");
  bad("GET /a\x7fb HTTP/1.1\r\n\r\n", "invalid character 0x7f in the request-target");
  bad("GET /a\tb HTTP/1.1\r\n\r\n", "invalid character 0x09 in the request-target");
  bad("GET / http/1.1\r\n\r\n", "invalid HTTP version");
  bad("GET / HTTP/1.10\r\n\r\n", "invalid HTTP version");
  bad("GET / HTTP/1\r\n\r\n", "invalid HTTP version");
  bad("GET / HTTP/1.1\rX\n\r\n", "CR without LF");
  bad("GET / HTTP/1.1\r\r\n\r\n", "CR without LF");
  bad("GET /a\rb HTTP/1.1\r\n\r\n", "request line: CR without LF");
  bad("GET\r/ HTTP/1.1\r\n\r\n", "request line: CR without LF");
  bad("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2 connection preface");
  rejects("GET / HTTP/2.0\r\n\r\n", 505, "unsupported HTTP version HTTP/2.0");
  rejects("GET / HTTP/1.2\r\n\r\n", 505, "HTTP/1.2");
  rejects("GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9");
  rejects("GET / HTTP/3.0\r\n\r\n", 505, "HTTP/3.0");
});

Deno.test("parseRequestHead: header line rejections", () => {
  bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "header line 1: whitespace before colon");
  bad(
    "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nHost\t: a\r\n\r\n",
    "header line 3: whitespace before colon",
  );
  bad("GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", "header line 2: starts with whitespace");
  bad("GET / HTTP/1.1\r\n\tfolded: x\r\n\r\n", "header line 1: starts with whitespace");
  bad("GET / HTTP/1.1\r\nNoColon\r\n\r\n", "header line 1: no colon");
  bad("GET / HTTP/1.1\r\nNo Colon\r\n\r\n", "header line 1: no colon");
  bad("GET / HTTP/1.1\r\n: v\r\n\r\n", "header line 1: empty header name");
  bad("GET / HTTP/1.1\r\nA(b: v\r\n\r\n", "invalid character 0x28 in the header name");
  bad("GET / HTTP/1.1\r\nA\u00e9: v\r\n\r\n", "in the header name");
  bad("GET / HTTP/1.1\r\nA: x\0y\r\n\r\n", "header line 1: invalid character 0x00 in the value");
  bad("GET / HTTP/1.1\r\nA: x\ry\r\n\r\n", "invalid character 0x0d in the value");
  bad("GET / HTTP/1.1\r\nA: x\x01\r\n\r\n", "invalid character 0x01 in the value");
  bad("GET / HTTP/1.1\r\nA: x\x7f\r\n\r\n", "invalid character 0x7f in the value");
  bad("GET / HTTP/1.1\r\nA: x\r\r\n\r\n", "invalid character 0x0d in the value");
  bad("GET / HTTP/1.1\r\nA: 1\r\n\rX\r\n\r\n", "CR without LF");
  bad("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", "header line 2: more than one Host");
  // HTAB inside a value is fine.
  assertEquals(head("GET / HTTP/1.1\r\nA: x\ty\r\n\r\n").lines, [["a", "x\ty"]]);
});

Deno.test("parseRequestHead: at most 100 header lines", () => {
  const lines = (n: number) => {
    let s = "GET / HTTP/1.1\r\n";
    for (let i = 0; i < n; i++) s += `X-H${i}: ${i}\r\n`;
    return s + "\r\n";
  };
  assertEquals(head(lines(100)).lines.length, 100);
  bad(lines(101), "more than 100 header lines");
});

Deno.test("parseRequestHead: Content-Length", () => {
  const cl = (v: string) => head(`POST / HTTP/1.1\r\nContent-Length: ${v}\r\n\r\n`);
  const h = cl("42");
  assertEquals([h.bodyKind, h.contentLength, h.lines], ["length", 42, [["content-length", "42"]]]);
  assertEquals(cl("999999999999999").contentLength, 999999999999999);
  // 0: no body (bodyKind "none"), the value is still reported and kept.
  const zero = cl("0");
  assertEquals([zero.bodyKind, zero.contentLength, zero.lines.length], ["none", 0, 1]);
  // The same value several times: one line (the first, value normalized).
  const dup = head(
    "POST / HTTP/1.1\r\ncontent-length: 5\r\nX: y\r\nContent-Length: 5, 5\r\n\r\n",
  );
  assertEquals([dup.bodyKind, dup.contentLength], ["length", 5]);
  assertEquals(dup.lines, [["content-length", "5"], ["x", "y"]]);
  assertEquals(cl("7 ,7").lines, [["content-length", "7"]]);
  rejects(
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    400,
    "values differ: 5, 6",
  );
  bad("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", "Content-Length values differ: 5, 6");
  for (const v of ["", "-1", "+1", "1 2", "0x10", "1.0", "abc", "5,", ",5", "1e3"]) {
    bad(`POST / HTTP/1.1\r\nContent-Length: ${v}\r\n\r\n`, "Content-Length");
  }
  bad("POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n", "longer than 15 digits");
});

Deno.test("parseRequestHead: Transfer-Encoding", () => {
  const te = (v: string, extra = "") =>
    head(`POST / HTTP/1.1\r\nTransfer-Encoding: ${v}\r\n${extra}\r\n`);
  const h = te("chunked");
  assertEquals([h.bodyKind, h.contentLength, h.keepAlive], ["chunked", -1, true]);
  assertEquals(te("Chunked").bodyKind, "chunked");
  assertEquals(te("\tCHUNKED \t").bodyKind, "chunked");
  // HAProxy 2.6's word walk: one comma after the last word adds nothing; an empty line does not
  // count; a comma before a word is an empty (other) coding.
  assertEquals(te("chunked,").bodyKind, "chunked");
  assertEquals(te("chunked", "Transfer-Encoding: \r\n").bodyKind, "chunked");
  // Any other coding before chunked: 422, as HAProxy answers.
  const other = (v: string) =>
    rejects(`POST / HTTP/1.1\r\nTransfer-Encoding: ${v}\r\n\r\n`, 422, "other than chunked");
  other("identity, chunked");
  other("gzip, chunked");
  other("GZIP,chunked");
  other(", chunked");
  other(" , chunked");
  other("gzip\r\nTransfer-Encoding: chunked");
  other("x\r\nTransfer-Encoding: CHUNKED");
  rejects(latin1("POST / HTTP/1.1\r\nTransfer-Encoding: \xa0chunked\r\n\r\n"), 400, "not chunked");
  rejects(latin1("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\xa0\r\n\r\n"), 400, "not chunked");
  rejects(latin1("POST / HTTP/1.1\r\nTransfer-Encoding:\xa0chunked\r\n\r\n"), 400, "not chunked");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", "not chunked");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked,,\r\n\r\n", "not chunked");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, ,\r\n\r\n", "not chunked");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\r\n\r\n", "not chunked");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked, chunked\r\n\r\n", "more than once");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "the last coding is not chunked");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "not chunked");
  bad(
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
    "not chunked",
  );
  bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "chunked more than once");
  bad("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", "empty Transfer-Encoding");
  bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0");
  // TE + CL: chunked wins, every Content-Length line removed, the connection closes afterwards.
  const both = head(
    "POST / HTTP/1.1\r\nContent-Length: 10\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" +
      "content-length: 10\r\n\r\n",
  );
  assertEquals([both.bodyKind, both.contentLength, both.keepAlive], ["chunked", -1, false]);
  assertEquals(both.lines, [["host", "a"], ["transfer-encoding", "chunked"]]);
  assertEquals(both.headers.has("content-length"), false);
});

Deno.test("parseRequestHead: Connection, keep-alive and Expect", () => {
  const h = (s: string) => head(s + "\r\n");
  assertEquals(h("GET / HTTP/1.1\r\nConnection: close\r\n").keepAlive, false);
  assertEquals(h("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n").keepAlive, false);
  const up = h("GET / HTTP/1.1\r\nConnection: Upgrade\r\nConnection: x-hop,, \r\n");
  assertEquals([up.keepAlive, up.connectionTokens], [true, ["upgrade", "x-hop"]]);
  // Only SP and HTAB are trimmed: NBSP and friends stay part of the token.
  const nbsp = latin1(
    "GET / HTTP/1.1\r\nConnection: \xa0close, \tX-A\t, content-length\xa0\r\n\r\n",
  );
  const nb = parseRequestHead(nbsp, 0, nbsp.length)!.head;
  assertEquals([nb.keepAlive, nb.connectionTokens], [true, [
    "\xa0close",
    "x-a",
    "content-length\xa0",
  ]]);
  assertEquals(h("GET / HTTP/1.0\r\n").keepAlive, false);
  assertEquals(h("GET / HTTP/1.0\r\nConnection: keep-alive\r\n").keepAlive, true);
  assertEquals(h("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n").connectionTokens, ["keep-alive"]);
  // Expect: 100-continue counts only on an HTTP/1.1 request with a body.
  const ex = "Expect: 100-Continue\r\n";
  assertEquals(h(`POST / HTTP/1.1\r\nContent-Length: 3\r\n${ex}`).expectContinue, true);
  assertEquals(h(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n${ex}`).expectContinue, true);
  assertEquals(h(`POST / HTTP/1.1\r\n${ex}`).expectContinue, false);
  assertEquals(h(`POST / HTTP/1.1\r\nContent-Length: 0\r\n${ex}`).expectContinue, false);
  assertEquals(h(`POST / HTTP/1.0\r\nContent-Length: 3\r\n${ex}`).expectContinue, false);
  assertEquals(
    h("POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: something\r\n").expectContinue,
    false,
  );
});

Deno.test("HeaderMap: get/has/iteration, same-name values combined, first-seen order", () => {
  const h = head(
    "GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nX-Forwarded-For: 1.1.1.1\r\naccept: y\r\n" +
      "x-forwarded-for: 2.2.2.2, 3.3.3.3\r\nX-Empty:\r\n\r\n",
  );
  assertEquals(h.headers.get("accept"), "x, y");
  assertEquals(h.headers.get("Accept"), "x, y");
  assertEquals(h.headers.get("x-forwarded-for"), "1.1.1.1, 2.2.2.2, 3.3.3.3");
  assertEquals(h.headers.get("x-empty"), "");
  assertEquals(h.headers.get("missing"), null);
  assertEquals([h.headers.has("HOST"), h.headers.has("x-empty"), h.headers.has("nope")], [
    true,
    true,
    false,
  ]);
  assertEquals([...h.headers], [
    ["host", "a"],
    ["accept", "x, y"],
    ["x-forwarded-for", "1.1.1.1, 2.2.2.2, 3.3.3.3"],
    ["x-empty", ""],
  ]);
  const empty = new HeaderMap([]);
  assertEquals([empty.get("a"), empty.has("a"), [...empty]], [null, false, []]);
  // Built lazily: lines changed before the first lookup are seen.
  const lines: [string, string][] = [["a", "1"]];
  const m = new HeaderMap(lines);
  lines.push(["a", "2"]);
  assertEquals(m.get("a"), "1, 2");
});

Deno.test("parseRequestHead: known names in any case, unknown names lower-cased", () => {
  const h = head(
    "GET / HTTP/1.1\r\nHOST: a\r\nuser-agent: b\r\nSec-WebSocket-Key: k\r\nX-Ünknown: c\r\n\r\n"
      .replace("Ü", "U"),
  );
  assertEquals(h.lines.map(([n]) => n), ["host", "user-agent", "sec-websocket-key", "x-unknown"]);
  // A name that hashes like a known one but differs ("^" | 0x20 is "~").
  assertEquals(head("GET / HTTP/1.1\r\nHos^: a\r\nHos~: b\r\n\r\n").lines, [
    ["hos^", "a"],
    ["hos~", "b"],
  ]);
});
