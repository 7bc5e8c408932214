// The request head parser against mutated input (a seeded generator, so a failure repeats):
// whatever the bytes, it answers "incomplete", a head, or a RequestHeadError with a 4xx/5xx
// status, never another exception; and what it accepts is sane.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseRequestHead, RequestHeadError } from "../../src/downstream/head.ts";
import { rng } from "../helpers/rng.ts";

const enc = new TextEncoder();

const SEEDS = [
  "GET /?wtd=wt1abc&request=ws HTTP/1.1\r\nHost: a:8080\r\nConnection: Upgrade\r\n" +
  "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
  "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
  "GET http://a/b?c HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nCookie: x=1\r\n\r\n",
];
// Bytes the mutations like to use: framing and separators.
const SPICE = [0, 9, 10, 13, 32, 44, 58, 59, 127, 128, 255, 48, 49, 70];

Deno.test("head parser: 30 000 mutated heads give a head, null or a RequestHeadError", () => {
  const rand = rng(20261125);
  let parsed = 0, refused = 0, incomplete = 0;
  for (let i = 0; i < 30000; i++) {
    const base = enc.encode(SEEDS[i % SEEDS.length]);
    const b = Array.from(base);
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * b.length);
      const r = rand();
      const byte = rand() < 0.7
        ? SPICE[Math.floor(rand() * SPICE.length)]
        : Math.floor(rand() * 256);
      if (r < 0.4) b[at] = byte;
      else if (r < 0.7) b.splice(at, 0, byte);
      else if (r < 0.9) b.splice(at, 1);
      else b.splice(at, 0, ...b.slice(at, at + Math.floor(rand() * 20))); // repeat a run
    }
    const buf = new Uint8Array(b);
    let out;
    try {
      out = parseRequestHead(buf, 0, buf.length);
    } catch (err) {
      assert(err instanceof RequestHeadError, `case ${i}: ${err}`);
      assert([400, 408, 422, 501, 505].includes(err.status), `case ${i}: status ${err.status}`);
      refused++;
      continue;
    }
    if (out === null) {
      incomplete++;
      continue;
    }
    parsed++;
    const h = out.head;
    assert(out.consumed > 0 && out.consumed <= buf.length, `case ${i}: consumed`);
    const ctl = [...h.target].some((c) => c.charCodeAt(0) <= 32 || c.charCodeAt(0) === 127);
    assert(h.target.length > 0 && !ctl, `case ${i}: target`);
    assert(h.version === "HTTP/1.0" || h.version === "HTTP/1.1", `case ${i}: version`);
    for (const [n, v] of h.lines) {
      assert(n.length > 0 && n === n.toLowerCase() && !/[\s:]/.test(n), `case ${i}: name ${n}`);
      assert(!v.includes("\r") && !v.includes("\n") && !v.includes("\0"), `case ${i}: value`);
    }
    if (h.bodyKind === "length") assert(h.contentLength > 0, `case ${i}: length`);
    if (h.bodyKind === "chunked") {
      assert(!h.lines.some(([n]) => n === "content-length"), `case ${i}: CL with TE`);
    }
  }
  // The mutations reach every outcome (else the test would say nothing).
  assert(parsed > 1000 && refused > 1000 && incomplete > 20, `${parsed}/${refused}/${incomplete}`);
});

Deno.test("head parser: every prefix of a valid head is incomplete, the whole is one head", () => {
  for (const text of SEEDS) {
    const buf = enc.encode(text);
    const end = text.indexOf("\r\n\r\n") + 4;
    for (let n = 0; n < end; n++) assertEquals(parseRequestHead(buf, 0, n), null, `${n}`);
    assertEquals(parseRequestHead(buf, 0, buf.length)?.consumed, end);
  }
});
