// Requests the client-side parser refuses, end to end: HAProxy's 400 page on the wire and one
// "<BADREQ>" line, whatever the reason (an unsupported HTTP version included).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function exchange(port: number, request: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(enc.encode(request));
    const buf = new Uint8Array(4096);
    let out = "";
    for (let i = 0; i < 100; i++) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    c.close();
  }
}

Deno.test("badreq: HTTP/1.2 and a bad header get the 400 page and a <BADREQ> PR-- line", async () => {
  const p = await startTestProxy(simpleConfig({ s1: "127.0.0.1:1" }));
  try {
    for (const req of ["GET / HTTP/1.2\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nA B: c\r\n\r\n"]) {
      const r = await exchange(p.port, req);
      assert(r.startsWith("HTTP/1.1 400 Bad request\r\nContent-length: 90\r\n"), r);
    }
    const logs = await p.waitLogs(2);
    assertEquals(
      logs.map((l) => [l.status, l.termination, l.requestLine, l.bytesRead]),
      [[400, "PR--", null, 0], [400, "PR--", null, 0]],
    );
  } finally {
    await p.stop();
  }
});
