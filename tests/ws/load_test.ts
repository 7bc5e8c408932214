// Many tunnels at once, and memory bounds under pressure: a flooding backend with a client
// that does not read, a flooding client with a backend that does not read. Bounds are
// asserted through counters and the relay's own queue figures, not through RSS or timing.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { liveTunnels } from "../../src/ws/proxy.ts";
import { encodeFrame, OP_BINARY, OP_CLOSE } from "../../src/ws/frame.ts";
import {
  answer101,
  openClient,
  rawClient,
  sleep,
  startEchoBackend,
  startProxy,
  startRawBackend,
  within,
  writeAll,
  wsHead,
} from "./harness.ts";

Deno.test("ws load: 200 concurrent WebSockets echo and close cleanly", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const N = 200;
    const clients = await within(
      Promise.all(Array.from({ length: N }, () => openClient(proxy.port, "/?wtd=x&request=ws"))),
      30000,
      "open 200",
    );
    assertEquals(proxy.counters.wsOpen, N);
    assertEquals(liveTunnels.size, N);
    await within(
      Promise.all(clients.map(async (c, i) => {
        c.ws.send(`m${i}`);
        assertEquals(await c.next(), `m${i}`);
      })),
      30000,
      "echo 200",
    );
    for (const c of clients) c.ws.close(1000);
    await within(Promise.all(clients.map((c) => c.closed)), 30000, "close 200");
    for (let i = 0; i < N; i++) await within(proxy.nextLog(), 10000, "logs");
    assertEquals(proxy.counters.wsOpen, 0);
    assertEquals(proxy.counters.wsTotal, N);
    assertEquals(liveTunnels.size, 0);
    assert(proxy.logs.every((r) => r.status === 101 && r.termination === "----"));
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws load: a flooding backend and a client that does not read keep the proxy bounded", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const N = 200, SIZE = 256 * 1024; // 50 MB offered by the backend
    const r = await within(
      rawClient(proxy.port, wsHead(proxy.port, `/?flood=${N}x${SIZE}`)),
      5000,
      "handshake",
    );
    assertEquals(r.status, 101);
    // The client reads nothing for a while: the proxy must stop reading the backend once
    // the client's buffer is full, instead of pulling all 50 MB into memory.
    let prev = -1;
    for (let i = 0; i < 20 && proxy.counters.wsBytesOut !== prev; i++) {
      prev = proxy.counters.wsBytesOut;
      await sleep(250);
    }
    const relayed = proxy.counters.wsBytesOut;
    assert(relayed < 24 * 1024 * 1024, `proxy pulled ${relayed} bytes for a stalled client`);
    // Then the client reads: everything arrives.
    const reading = r.peer.readFrames();
    await within(
      r.peer.waitFrame(() => r.peer.frames.filter((f) => f.opcode === OP_BINARY).length === N),
      30000,
      "all frames",
    );
    assertEquals(proxy.counters.wsBytesOut, N * SIZE);
    r.conn.close();
    await reading;
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "CD--");
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws load: a flooding client and a backend that does not read -> 1008 at the limit", async () => {
  const backend = startRawBackend();
  const maxQueued = 4 * 1024 * 1024;
  const proxy = startProxy({ backendPort: backend.port, limits: { maxQueued } });
  try {
    // A raw client, so the test sees the close frame the proxy sends while it is still sending.
    const clientP = rawClient(proxy.port, wsHead(proxy.port));
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer); // ... and never reads again
    const c = await within(clientP, 5000, "open");
    assertEquals(c.status, 101);
    const reading = c.peer.readFrames();
    let maxSeen = 0;
    const sampler = setInterval(() => {
      for (const t of liveTunnels) maxSeen = Math.max(maxSeen, t.queuedUpstream);
    }, 5);
    const sending = (async () => {
      const msg = new Uint8Array(1024 * 1024);
      for (let i = 0; i < 64; i++) { // 64 MB; kernel buffers take a few
        for (const part of encodeFrame(OP_BINARY, msg)) await writeAll(c.conn, part);
      }
    })().catch(() => {}); // the proxy may reset the connection mid-send
    const close = await within(
      c.peer.waitFrame((f) => f.opcode === OP_CLOSE),
      20000,
      "close frame from the proxy",
    );
    clearInterval(sampler);
    assertEquals((close.payload[0] << 8) | close.payload[1], 1008);
    assert(maxSeen <= maxQueued, `queued ${maxSeen} > ${maxQueued}`);
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals(rec.termination, "RD--");
    assert(proxy.counters.wsBytesIn < 64 * 1024 * 1024);
    c.conn.close();
    await sending;
    await reading;
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: proxy shutdown (deps.signal) closes tunnels with 1001, logged KD--", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const c = await within(openClient(proxy.port), 5000, "open");
    const closing = proxy.close();
    const ev = await within(c.closed, 5000, "closed");
    assertEquals(ev.code, 1001);
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "KD--");
    assertEquals((await within(backend.closes[0], 5000, "backend"))[0], 1001);
    await closing;
  } finally {
    await backend.close();
  }
});
