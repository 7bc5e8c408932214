// The byte-level response head parser and the reusable buffers of the upstream room: strictness
// (anything unparsable is a 502 PH--), framing decisions, and that reused buffers never leak
// bytes from one use into the next.

import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { headerTokens, lowerName, parseHead } from "../../src/upstream/response.ts";
import { UpstreamError } from "../../src/upstream/errors.ts";
import { BodySource } from "../../src/upstream/upload.ts";
import type { RequestBody } from "../../src/downstream/types.ts";

const enc = new TextEncoder();
const head = (s: string, method = "GET") => {
  const b = enc.encode(s);
  return parseHead(b, 0, b.length, method);
};
const invalid = (s: string) =>
  throws(
    () => head(s),
    (e: unknown) => e instanceof UpstreamError && e.kind === "invalid-response",
    JSON.stringify(s),
  );

Deno.test("parseHead: status line, headers as sent, every Set-Cookie kept", () => {
  const h = head(
    "HTTP/1.1 200 OK\r\nServer: x\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n" +
      "Content-Length: 5\r\nX-Sp:   v  w \t\r\n\r\n",
  );
  assertEquals(h.version, "HTTP/1.1");
  assertEquals(h.status, 200);
  assertEquals(h.reason, "OK");
  assertEquals(h.headers, [
    ["Server", "x"],
    ["Set-Cookie", "a=1"],
    ["set-cookie", "b=2"],
    ["Content-Length", "5"],
    ["X-Sp", "v  w"],
  ]);
  assertEquals([h.bodyMode, h.length, h.keepAlive], ["length", 5, true]);
  assertEquals(
    h.headBytes,
    enc.encode(
      "HTTP/1.1 200 OK\r\nServer: x\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n" +
        "Content-Length: 5\r\nX-Sp:   v  w \t\r\n\r\n",
    ).length,
  );
});

Deno.test("parseHead: reason phrases, bare LF, HTTP/1.0 keep-alive rules", () => {
  assertEquals(head("HTTP/1.1 404\r\n\r\n").reason, "");
  assertEquals(head("HTTP/1.1 404 \r\n\r\n").reason, "");
  assertEquals(head("HTTP/1.1 503 Service  Unavailable\n\n").reason, "Service  Unavailable");
  const h10 = head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  assertEquals([h10.version, h10.keepAlive, h10.bodyMode], ["HTTP/1.0", false, "none"]);
  const ka = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n");
  assertEquals(ka.keepAlive, true);
  const close = head("HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nContent-Length: 1\r\n\r\n");
  assertEquals([close.keepAlive, close.connectionTokens], [false, ["close", "x-hop"]]);
});

Deno.test("headerTokens: common one-token values and general lists read the same", () => {
  for (const v of ["keep-alive", "Keep-Alive", "KEEP-ALIVE", " keep-alive\t", "keep-alive,"]) {
    assertEquals(headerTokens(v), ["keep-alive"], JSON.stringify(v));
  }
  assertEquals(headerTokens("Close"), ["close"]);
  assertEquals(headerTokens("Upgrade"), ["upgrade"]);
  assertEquals(headerTokens("close, Upgrade ,,x-Hop"), ["close", "upgrade", "x-hop"]);
  assertEquals(headerTokens(" , "), []);
  // U+00A0 is not HTTP whitespace: part of the token.
  assertEquals(headerTokens("\u00a0close"), ["\u00a0close"]);
  // The shared lists cannot be changed by a caller.
  throws(() => (headerTokens("close") as string[]).push("x"));
  assertEquals(headerTokens("close"), ["close"]);
});

Deno.test("parseHead: framing (RFC 9112 §6.3)", () => {
  assertEquals(
    head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n").bodyMode,
    "chunked",
  );
  const te = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
  assertEquals([te.bodyMode, te.keepAlive], ["close", false]);
  // Transfer-Encoding wins over Content-Length.
  assertEquals(
    head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").bodyMode,
    "chunked",
  );
  assertEquals(head("HTTP/1.1 200 OK\r\n\r\n").bodyMode, "close");
  assertEquals(head("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "HEAD").bodyMode, "none");
  assertEquals(head("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "HEAD").length, 7);
  for (const s of [204, 304, 100, 101]) {
    assertEquals(head(`HTTP/1.1 ${s} X\r\nContent-Length: 7\r\n\r\n`).bodyMode, "none");
  }
  assertEquals(head("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n").length, 5);
  assertEquals(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n").length, 5);
  assertEquals(head("HTTP/1.1 200 OK\r\nContent-Length: 000000000000012\r\n\r\n").length, 12);
});

Deno.test("parseHead: garbage is invalid-response (502 PH--)", () => {
  for (
    const s of [
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.2 200 OK\r\n\r\n",
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.10 200 OK\r\n\r\n",
      "http/1.1 200 OK\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 200 O\rK\r\n\r\n",
      "garbage\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
      "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad\u00e9: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "HTTP/1.1 200 O\u0001K\r\n\r\n", // a control byte in the reason phrase
      "HTTP/1.1 200 OK\u007f\r\n\r\n",
    ]
  ) invalid(s);
});

Deno.test("parseHead: latin-1 values pass as octets", () => {
  const b = new Uint8Array([...enc.encode("HTTP/1.1 200 OK\r\nX-L: caf"), 0xe9, 13, 10, 13, 10]);
  assertEquals(parseHead(b, 0, b.length, "GET").headers, [["X-L", "caf\u00e9"]]);
});

/** A client body that hands out its chunks in one reused buffer, as the client side does. */
function reusedBufferBody(chunks: Uint8Array[]): RequestBody {
  const buf = new Uint8Array(64);
  let i = 0;
  let bytes = 0;
  return {
    read() {
      if (i === chunks.length) return Promise.resolve(null);
      const c = chunks[i++];
      buf.set(c);
      bytes += c.length;
      return Promise.resolve(buf.subarray(0, c.length));
    },
    cancel() {},
    get bytes() {
      return bytes;
    },
    get ended() {
      return i === chunks.length;
    },
    timedOut: false,
  };
}

Deno.test("BodySource: chunks from a reused buffer replay with their original bytes", async () => {
  const chunks = [enc.encode("first-"), enc.encode("second-"), enc.encode("third")];
  const body = new BodySource(reusedBufferBody(chunks));
  const seen: string[] = [];
  for (let c; (c = await body.read()) !== null;) {
    seen.push(new TextDecoder().decode(c));
  }
  assertEquals(seen.join(""), "first-second-third");
  assert(body.rewind());
  const replay: string[] = [];
  for (let c; (c = await body.read()) !== null;) replay.push(new TextDecoder().decode(c));
  assertEquals(replay.join(""), "first-second-third");
  assertEquals(body.bytes, 18);
});

Deno.test("parseHead: names kept as sent whatever their case, obs-text values as latin-1", () => {
  const names = ["Content-Type", "content-type", "CONTENT-TYPE", "content-Type", "ETag", "Etag"];
  const h = head(`HTTP/1.1 200 OK\r\n${names.map((n) => `${n}: v`).join("\r\n")}\r\n\r\n`);
  assertEquals(h.headers.map(([n]) => n), names);
  assertEquals(lowerName("CONTENT-TYPE"), "content-type");
  assertEquals(lowerName("ETag"), "etag");
  assertEquals(lowerName("X-Odd-Name"), "x-odd-name");
  // A byte above 0x7f makes the head latin-1 text: one character per byte.
  const b = Uint8Array.from(
    "HTTP/1.1 200 Ok\xe9\r\nX-A: caf\xe9\r\nContent-Length: 0\r\n\r\n",
    (c) => c.charCodeAt(0),
  );
  const l = parseHead(b, 0, b.length, "GET");
  assertEquals([l.reason, l.headers[0], l.length], ["Ok\xe9", ["X-A", "caf\xe9"], 0]);
  invalid("HTTP/1.1 200 OK\r\nBad\xe9Name: 1\r\n\r\n");
  invalid("HTTP/1.1 200 OK\r\nContent Type: 1\r\n\r\n");
});
