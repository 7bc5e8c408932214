// Mutated requests through the whole proxy (seeded, so a failure repeats): every connection
// is answered or closed within a bound, nothing crashes, nothing stays open, and the proxy
// serves a normal request afterwards.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";
import { rng } from "../helpers/rng.ts";

const enc = new TextEncoder();

const SEEDS = [
  "GET /a?wtd=wt1x HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
  "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
  "5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
  "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
];
const SPICE = [0, 9, 10, 13, 32, 44, 48, 58, 59, 70, 127, 255];

Deno.test("fuzz: 400 mutated requests through the proxy, each answered or closed", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(
    simpleConfig({ s1: be.address }, {
      timeouts: "{ connect: 1s, client: 500ms, server: 1s, http-request: 500ms }",
    }),
  );
  const rand = rng(4242);
  try {
    const one = async (i: number) => {
      const b = Array.from(enc.encode(SEEDS[i % SEEDS.length]));
      for (let e = 0, n = 1 + Math.floor(rand() * 3); e < n; e++) {
        const at = Math.floor(rand() * b.length);
        const byte = SPICE[Math.floor(rand() * SPICE.length)];
        const r = rand();
        if (r < 0.4) b[at] = byte;
        else if (r < 0.7) b.splice(at, 0, byte);
        else b.splice(at, 1);
      }
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: px.port });
      try {
        await conn.write(new Uint8Array(b)).catch(() => 0);
        const buf = new Uint8Array(65536);
        const deadline = Date.now() + 4000;
        // Read until the proxy closes (every path ends in a close within the timeouts).
        for (;;) {
          assert(Date.now() < deadline, `case ${i}: still open after 4 s`);
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
        }
      } finally {
        conn.close();
      }
    };
    for (let i = 0; i < 400; i += 40) {
      await Promise.all(Array.from({ length: 40 }, (_, k) => one(i + k)));
    }
    const res = await rawRequest(px.port, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(res.status, 200);
  } finally {
    await px.stop();
    await be.close();
  }
});
