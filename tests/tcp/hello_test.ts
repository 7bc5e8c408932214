// The ClientHello reader behind req.ssl_sni / req.ssl_hello_type, on hand-built records.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { helloSni, helloType } from "../../src/tcp/hello.ts";
import { rng } from "../helpers/rng.ts";

/** A TLS 1.2 record holding a ClientHello with `exts` (type, data) extensions. */
function clientHello(exts: [number, number[]][]): Uint8Array {
  const e: number[] = [];
  for (const [t, d] of exts) e.push(t >> 8, t & 255, d.length >> 8, d.length & 255, ...d);
  const body = [
    3,
    3,
    ...new Array(32).fill(7), // version, random
    0, // session id
    0,
    2,
    0x13,
    0x01, // one cipher suite
    1,
    0, // null compression
    e.length >> 8,
    e.length & 255,
    ...e,
  ];
  const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
  return new Uint8Array([0x16, 3, 1, hs.length >> 8, hs.length & 255, ...hs]);
}

function sniExt(name: string): [number, number[]] {
  const n = [...new TextEncoder().encode(name)];
  const entry = [0, n.length >> 8, n.length & 255, ...n];
  return [0, [entry.length >> 8, entry.length & 255, ...entry]];
}

Deno.test("hello: the server name among other extensions; type 1", () => {
  const b = clientHello([[10, [0, 2, 0, 23]], sniExt("db.example.org"), [16, [0, 3, 2, 104, 50]]]);
  assertEquals(helloSni(b), { kind: "value", value: "db.example.org" });
  assertEquals(helloType(b), { kind: "value", value: 1 });
});

Deno.test("hello: a partial record is 'short' (wait), non-TLS and no SNI are 'none'", () => {
  const b = clientHello([sniExt("a.example")]);
  for (const n of [0, 1, 4, 8, b.length - 1]) {
    assertEquals(helloSni(b.subarray(0, n)).kind, "short", `at ${n}`);
    assertEquals(helloType(b.subarray(0, n)).kind, "short", `at ${n}`);
  }
  assertEquals(helloSni(new TextEncoder().encode("GET / HTTP/1.1\r\n")).kind, "none");
  assertEquals(helloType(new TextEncoder().encode("GET / HTTP/1.1\r\n")).kind, "none");
  assertEquals(helloSni(clientHello([[10, [0, 2, 0, 23]]])).kind, "none");
  // A lying extension length stays inside the record: no sample, no throw.
  const bad = clientHello([sniExt("a.example")]);
  bad[bad.length - 12] = 0xff;
  assertEquals(["none", "value"].includes(helloSni(bad).kind), true);
});

Deno.test("hello: 20 000 seeded mutations of a ClientHello never throw; values are a string or a byte", () => {
  const base = clientHello([[10, [0, 2, 0, 23]], sniExt("db.example.org")]);
  const next = rng(18);
  for (let i = 0; i < 20000; i++) {
    const b = base.slice(0, 1 + Math.floor(next() * base.length));
    const flips = 1 + Math.floor(next() * 4);
    for (let j = 0; j < flips; j++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
    const sni = helloSni(b);
    const type = helloType(b);
    if (sni.kind === "value") assertEquals(typeof sni.value, "string");
    if (type.kind === "value") assertEquals(type.value >= 0 && type.value < 256, true);
  }
});
