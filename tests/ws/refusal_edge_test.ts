// A backend refusing the upgrade with an answer Fetch's Response/Headers would reject as
// decoded: header bytes are octets (latin-1), an out-of-range status is a 502; either way the
// server connection is released and the request logged.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  answer101,
  rawClient,
  startProxy,
  startRawBackend,
  within,
  writeAll,
  wsHead,
} from "./harness.ts";

Deno.test("ws refusal: UTF-8 bytes in a header value are relayed as sent", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = rawClient(proxy.port, wsHead(proxy.port) + "\r\nConnection: close");
    const peer = await within(backend.accepted[0], 5000, "accept");
    // "€" in UTF-8 is E2 82 AC; 0x82 is not latin-1 in windows-1252 decoding.
    const head = new Uint8Array([
      ...new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\nX-Name: "),
      0xe2,
      0x82,
      0xac,
      ...new TextEncoder().encode("\r\nContent-Length: 0\r\n\r\n"),
    ]);
    await writeAll(peer.conn, head);
    const r = await within(clientP, 5000, "answer");
    assertEquals(r.status, 403);
    r.conn.close();
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [403, "----"]);
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws refusal: status 600 or a NUL in a header -> 502 PH--, server connection closed", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const answers = [
      "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 403 Forbidden\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 403 Bad\x01Reason\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 403 Forbidden\r\nX@Y: 1\r\nContent-Length: 0\r\n\r\n",
    ];
    for (const [i, answer] of answers.entries()) {
      const clientP = rawClient(proxy.port, wsHead(proxy.port) + "\r\nConnection: close");
      const peer = await within(backend.accepted[i], 5000, "accept");
      await writeAll(peer.conn, new TextEncoder().encode(answer));
      const r = await within(clientP, 5000, "answer");
      assertEquals([i, r.status], [i, 502]);
      r.conn.close();
      const rec = await within(proxy.nextLog(), 5000, "log");
      assertEquals([i, rec.status, rec.termination], [i, 502, "PH--"]);
      // The proxy closed its side of the server connection.
      const n = await within(peer.conn.read(new Uint8Array(16)), 5000, "server side closed");
      assertEquals(n, null);
      peer.conn.close();
    }
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws 101 with an invalid header name -> 502 PH--, server connection closed", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = rawClient(proxy.port, wsHead(proxy.port));
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer, "X@Y: 1\r\n");
    const r = await within(clientP, 5000, "answer");
    assertEquals(r.status, 502);
    r.conn.close();
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [502, "PH--"]);
    const n = await within(peer.conn.read(new Uint8Array(16)), 5000, "server side closed");
    assertEquals(n, null);
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});
