// Messages and close codes through the proxy: echo (text, binary, empty, 16 MB), backend
// speaking first, fragmented backend messages and pings (relayed as bytes: the client's own
// WebSocket reassembles and answers), close codes both ways.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { liveTunnels } from "../../src/ws/proxy.ts";
import { OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT } from "../../src/ws/frame.ts";
import {
  answer101,
  dec,
  openClient,
  serverFrame,
  startEchoBackend,
  startProxy,
  startRawBackend,
  within,
  writeAll,
} from "./harness.ts";

Deno.test("ws: echo of text, binary, empty and 16 MB messages; counters; log line", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const c = await within(openClient(proxy.port, "/?wtd=wt1abc&request=ws"), 5000, "open");
    assertEquals(proxy.counters.wsOpen, 1);
    c.ws.send("hello ü");
    assertEquals(await within(c.next(), 5000, "text"), "hello ü");
    c.ws.send(new Uint8Array([0, 1, 2, 255]));
    assertEquals(new Uint8Array((await c.next()) as ArrayBuffer), new Uint8Array([0, 1, 2, 255]));
    c.ws.send("");
    assertEquals(await c.next(), "");
    c.ws.send(new Uint8Array(0));
    assertEquals(((await c.next()) as ArrayBuffer).byteLength, 0);
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 255;
    big[big.length - 1] = 7;
    c.ws.send(big);
    const back = new Uint8Array((await within(c.next(), 30000, "16 MB")) as ArrayBuffer);
    assertEquals(back.length, big.length);
    assert(back.every((v, i) => v === big[i]), "16 MB binary message differs");
    const bigText = "x".repeat(16 * 1024 * 1024 - 1) + "é";
    c.ws.send(bigText);
    assertEquals(await within(c.next(), 30000, "16 MB text"), bigText);
    c.ws.close(1000, "done");
    const ev = await within(c.closed, 5000, "close");
    assertEquals(ev.code, 1000);
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals(rec.status, 101);
    assertEquals(rec.termination, "----");
    assertEquals(rec.backend, "be");
    assertEquals(rec.server, "s1");
    assert(rec.ta >= 0 && rec.bytesRead > 32 * 1024 * 1024, `bytesRead ${rec.bytesRead}`);
    const k = proxy.counters;
    assertEquals([k.wsOpen, k.wsTotal, k.wsMessagesIn, k.wsMessagesOut], [0, 1, 6, 6]);
    assertEquals(k.wsBytesIn, k.wsBytesOut);
    assertEquals(k.wsBytesIn, 8 + 4 + 16 * 1024 * 1024 + 16 * 1024 * 1024 + 1);
    assertEquals(k.responses[1], 1);
    assertEquals(liveTunnels.size, 0);
    assertEquals(await within(backend.closes[0], 5000, "backend close"), [1000, "done"]);
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: the backend's first messages (sent at open) reach the client in order", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const c = await within(openClient(proxy.port, "/?first"), 5000, "open");
    for (let i = 0; i < 100; i++) {
      assertEquals(await within(c.next(), 5000, `first-${i}`), `first-${i}`);
    }
    c.ws.close();
    await within(c.closed, 5000, "close");
    await proxy.nextLog();
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: close codes and reasons relayed both ways", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    // Client-initiated, custom code.
    let c = await openClient(proxy.port);
    c.ws.close(4002, "client-bye");
    assertEquals(await within(backend.closes[0], 5000, "backend sees 4002"), [4002, "client-bye"]);
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "----");
    // Client-initiated without a code: the backend sees 1005 (empty close frame).
    c = await openClient(proxy.port);
    c.ws.close();
    assertEquals((await within(backend.closes[1], 5000, "backend sees 1005"))[0], 1005);
    await proxy.nextLog();
    // Backend-initiated, custom code and 1001.
    for (const [code, reason] of [[4001, "backend-bye"], [1001, "going away"]] as const) {
      c = await openClient(proxy.port);
      c.ws.send(`close:${code}:${reason}`);
      const ev = await within(c.closed, 5000, `client sees ${code}`);
      assertEquals([ev.code, ev.reason], [code, reason]);
      const rec = await within(proxy.nextLog(), 5000, "log");
      assertEquals([rec.status, rec.termination], [101, "----"]);
    }
    // Backend-initiated without a code: the client sees 1005.
    c = await openClient(proxy.port);
    c.ws.send("close");
    assertEquals((await within(c.closed, 5000, "client sees 1005")).code, 1005);
    await proxy.nextLog();
    assertEquals(proxy.counters.wsOpen, 0);
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: fragmented backend messages reach the client whole; its pong answers the backend's ping", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = openClient(proxy.port, "/?wtd=x&request=ws");
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer);
    peer.readFrames();
    const c = await within(clientP, 5000, "open");
    await writeAll(peer.conn, serverFrame(OP_TEXT, "hel", false));
    await writeAll(peer.conn, serverFrame(OP_PING, "p1"));
    await writeAll(peer.conn, serverFrame(OP_CONT, "lo ", false));
    await writeAll(peer.conn, serverFrame(OP_CONT, "wörld", true));
    assertEquals(await within(c.next(), 5000, "reassembled"), "hello wörld");
    const pong = await within(peer.waitFrame((f) => f.opcode === OP_PONG), 5000, "pong");
    assertEquals(dec.decode(pong.payload), "p1");
    // A frame split across many TCP writes.
    const f = serverFrame(OP_TEXT, "split".repeat(1000));
    for (let i = 0; i < f.length; i += 333) {
      await writeAll(peer.conn, f.subarray(i, i + 333));
    }
    assertEquals(await within(c.next(), 5000, "split"), "split".repeat(1000));
    // The client's message arrives masked and intact.
    c.ws.send("from client");
    const got = await within(peer.waitFrame((f) => f.opcode === OP_TEXT), 5000, "client msg");
    assertEquals(dec.decode(got.payload), "from client");
    c.ws.close(4003, "x");
    const cl = await within(peer.waitFrame((f) => f.opcode === OP_CLOSE), 5000, "close frame");
    assertEquals((cl.payload[0] << 8) | cl.payload[1], 4003);
    await writeAll(peer.conn, serverFrame(OP_CLOSE, cl.payload));
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "----");
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: backend gone abruptly -> client gets 1011, log SD--", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = openClient(proxy.port);
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer);
    const c = await within(clientP, 5000, "open");
    peer.conn.close();
    const ev = await within(c.closed, 5000, "client close");
    assertEquals(ev.code, 1011);
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [101, "SD--"]);
    assertEquals(liveTunnels.size, 0);
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: client gone abruptly -> backend connection closed, log CD--", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await writeAll(
      conn,
      new TextEncoder().encode(
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer);
    const done = peer.readFrames();
    const buf = new Uint8Array(1024);
    await conn.read(buf); // the 101
    conn.close();
    await within(done, 5000, "backend conn closed");
    assertEquals(peer.frames.length, 0);
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [101, "CD--"]);
    assertEquals(proxy.counters.wsOpen, 0);
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: after our close frame, a silent backend is cut after closeGraceMs", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({
    backendPort: backend.port,
    timeouts: { tunnel: 200 },
    limits: { closeGraceMs: 300 },
  });
  try {
    const clientP = openClient(proxy.port);
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer);
    const reading = peer.readFrames();
    const c = await within(clientP, 5000, "open");
    assertEquals((await within(c.closed, 5000, "idle close")).code, 1001);
    const cl = await within(peer.waitFrame((f) => f.opcode === OP_CLOSE), 5000, "close frame");
    assertEquals((cl.payload[0] << 8) | cl.payload[1], 1001);
    const t0 = Date.now();
    await within(reading, 5000, "backend connection closed by the proxy"); // we never answer
    assert(Date.now() - t0 >= 150, "the proxy waited for the backend's close frame");
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "cD--");
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});
