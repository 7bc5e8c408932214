// Many tunnels at once, and memory bounds under pressure: a flooding backend with a client
// that does not read, a flooding client with a backend that does not read (TCP backpressure
// end to end: the proxy holds one read buffer per direction). Bounds are asserted through
// counters (bytes relayed) and a generous RSS figure for the whole test process.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { liveTunnels } from "../../src/ws/proxy.ts";
import { encodeFrame, OP_BINARY } from "./codec.ts";
import {
  answer101,
  type Client,
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

Deno.test("ws load: 1000 concurrent WebSockets echo and close cleanly, memory bounded", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const N = 1000;
    const rss0 = Deno.memoryUsage().rss;
    const clients: Client[] = [];
    for (let i = 0; i < N; i += 100) {
      clients.push(
        ...await within(
          Promise.all(
            Array.from({ length: 100 }, () => openClient(proxy.port, "/?wtd=x&request=ws")),
          ),
          30000,
          "open 100",
        ),
      );
    }
    // A client may see its 101 a moment before the proxy (same process) counts the tunnel.
    for (let i = 0; i < 200 && proxy.counters.wsOpen < N; i++) await sleep(10);
    assertEquals(proxy.counters.wsOpen, N);
    assertEquals(liveTunnels.size, N);
    // Clients, backend sockets and the proxy's tunnels all live in this process: 1000 of each
    // must stay well under 1000 x 300 KB.
    const grown = (Deno.memoryUsage().rss - rss0) / 1e6;
    assert(grown < 300, `RSS grew by ${grown.toFixed(0)} MB for ${N} WebSockets`);
    await within(
      Promise.all(clients.map(async (c, i) => {
        c.ws.send(`m${i}`);
        assertEquals(await c.next(), `m${i}`);
      })),
      30000,
      "echo 1000",
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

Deno.test("ws load: a flooding client and a backend that does not read: TCP pushes back", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = rawClient(proxy.port, wsHead(proxy.port));
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer); // ... and does not read for a while
    const c = await within(clientP, 5000, "open");
    assertEquals(c.status, 101);
    const N = 64;
    const msg = new Uint8Array(1024 * 1024);
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < N; i++) { // 64 MB
        for (const part of encodeFrame(OP_BINARY, msg)) await writeAll(c.conn, part);
        sent++;
      }
    })();
    let prev = -1;
    for (let i = 0; i < 40 && sent !== prev; i++) {
      prev = sent;
      await sleep(150);
    }
    assert(sent < N, "the client was held back");
    const relayed = proxy.counters.wsBytesIn;
    assert(relayed < 32 * 1024 * 1024, `proxy relayed ${relayed} bytes to a stalled backend`);
    // Then the backend reads: everything arrives.
    const reading = peer.readFrames();
    await within(
      peer.waitFrame(() => peer.frames.filter((f) => f.opcode === OP_BINARY).length === N),
      30000,
      "all frames",
    );
    await sending;
    assertEquals(proxy.counters.wsMessagesIn, N);
    c.conn.close();
    await within(reading, 5000, "backend closed");
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "CD--");
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
