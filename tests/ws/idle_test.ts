// What the memory savings of idle tunnels must not break: reads of an idle tunnel go into
// 512-byte slots of shared slabs (net/slots.ts), neighbours in memory; a read that fills its
// buffer grows it, a trickle takes a slot again; the handshake's read buffer starts small; the
// record kept for the close line holds a copy of the request line.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { freeSlots } from "../../src/net/slots.ts";
import { liveTunnels } from "../../src/ws/proxy.ts";
import { OP_BINARY, OP_TEXT } from "../../src/ws/frame.ts";
import { encodeFrame } from "./codec.ts";
import {
  accept,
  answer101,
  dec,
  enc,
  openClient,
  rawClient,
  serverFrame,
  sleep,
  startEchoBackend,
  startProxy,
  startRawBackend,
  within,
  writeAll,
  wsHead,
} from "./harness.ts";

/** `size` bytes whose content depends on `seed` and the position. */
function pattern(seed: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 10)) & 255;
  return b;
}

Deno.test("ws idle: after an idle spell, 1 MB messages both ways arrive intact in 20 tunnels at once; slots go back", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  const N = 20;
  try {
    const clients = await within(
      Promise.all(
        Array.from({ length: N }, () => openClient(proxy.port, "/?wtd=wt1idle&request=ws")),
      ),
      10000,
      "open",
    );
    // A little traffic first (small reads), then silence: every read waits in a slot.
    for (const [i, c] of clients.entries()) c.ws.send(`small-${i}`);
    for (const [i, c] of clients.entries()) {
      assertEquals(await within(c.next(), 5000, "small echo"), `small-${i}`);
    }
    await sleep(1500);
    const slotsHeld = freeSlots();
    // Every tunnel at once: reads land in neighbouring slots of the same slabs.
    const big = clients.map((_, i) => pattern(i, 1024 * 1024 + i));
    for (const [i, c] of clients.entries()) c.ws.send(big[i]);
    for (const [i, c] of clients.entries()) {
      const back = new Uint8Array((await within(c.next(), 30000, `1 MB echo ${i}`)) as ArrayBuffer);
      assertEquals(back.length, big[i].length);
      assert(back.every((v, j) => v === big[i][j]), `tunnel ${i}: the echo differs`);
    }
    // Small again after the burst (the buffers went back to slots), then another burst.
    for (const [i, c] of clients.entries()) c.ws.send(`again-${i}`);
    for (const [i, c] of clients.entries()) {
      assertEquals(await within(c.next(), 5000, "small echo"), `again-${i}`);
    }
    await sleep(200);
    for (const [i, c] of clients.entries()) c.ws.send(big[N - 1 - i]);
    for (const [i, c] of clients.entries()) {
      const back = new Uint8Array((await within(c.next(), 30000, `echo ${i}`)) as ArrayBuffer);
      assert(
        back.length === big[N - 1 - i].length && back.every((v, j) => v === big[N - 1 - i][j]),
        `tunnel ${i}: the second echo differs`,
      );
    }
    for (const c of clients) c.ws.close(1000, "bye");
    for (const c of clients) await within(c.closed, 5000, "closed");
    for (let i = 0; i < N; i++) {
      const rec = await within(proxy.nextLog(), 5000, "log");
      assertEquals([rec.status, rec.termination], [101, "----"]);
      // The close line still has the request (the record keeps a copy of it).
      assertEquals(rec.requestLine, "GET /?wtd=wt1idle&request=ws HTTP/1.1");
    }
    assertEquals(liveTunnels.size, 0);
    // Each direction of each tunnel gives its slot back once its reads are over.
    for (let i = 0; i < 100 && freeSlots() < slotsHeld + 2 * N; i++) await sleep(50);
    assert(freeSlots() >= slotsHeld + 2 * N, `free slots ${freeSlots()} < ${slotsHeld} + ${2 * N}`);
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws idle: after messages of a few KB, both directions wait in 512-byte slots again", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const c = await within(openClient(proxy.port), 5000, "open");
    c.ws.send("hi");
    assertEquals(await within(c.next(), 5000, "echo"), "hi");
    const held = freeSlots(); // both directions read into slots
    for (const size of [2500, 3900, 1200]) {
      const msg = pattern(size, size);
      c.ws.send(msg);
      const back = new Uint8Array((await within(c.next(), 5000, `${size} B`)) as ArrayBuffer);
      assertEquals(back, msg);
    }
    await sleep(100);
    // Each direction gave its slot back when its reads grew, and took one when the message
    // was over: no larger buffer stays behind for the idle time.
    assertEquals(freeSlots(), held);
    c.ws.close();
    await within(c.closed, 5000, "closed");
    await within(proxy.nextLog(), 5000, "log");
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws idle: a backend speaking after a long silence, frames split over many writes, arrive whole", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = openClient(proxy.port);
    const peer = await within(backend.accepted[0], 5000, "accept");
    const key = /sec-websocket-key: *(\S+)/i.exec(peer.head)![1];
    await writeAll(
      peer.conn,
      enc.encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${await accept(key)}\r\n\r\n`,
      ),
    );
    peer.readFrames();
    const c = await within(clientP, 5000, "open");
    await sleep(1500);
    const big = pattern(3, 300 * 1024);
    const f = serverFrame(OP_BINARY, big);
    // 512, 4 KB, 32 KB... pieces: the proxy's reads fill and grow, or trickle and shrink.
    for (let off = 0, step = 100; off < f.length; off += step, step = step * 3 % 70000 + 1) {
      await writeAll(peer.conn, f.subarray(off, off + step));
    }
    const back = new Uint8Array((await within(c.next(), 10000, "300 KB")) as ArrayBuffer);
    assert(back.length === big.length && back.every((v, j) => v === big[j]), "message differs");
    await sleep(500);
    c.ws.send(big);
    const up = await within(peer.waitFrame((x) => x.opcode === OP_BINARY), 10000, "client msg");
    assert(up.payload.length === big.length && up.payload.every((v, j) => v === big[j]));
    peer.conn.close();
    assertEquals((await within(c.closed, 5000, "closed")).code, 1011);
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "SD--");
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws idle: a 101 head longer than the handshake's first read buffer, a frame right behind it", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = rawClient(proxy.port, wsHead(proxy.port, "/?long"));
    const peer = await within(backend.accepted[0], 5000, "accept");
    const key = /sec-websocket-key: *(\S+)/i.exec(peer.head)![1];
    const pad = "p".repeat(7000);
    // Head and first frame in one write: the frame comes in the same reads as the head.
    const head = enc.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await accept(key)}\r\nX-Pad: ${pad}\r\n\r\n`,
    );
    const frame = serverFrame(OP_TEXT, "right behind the head");
    const both = new Uint8Array(head.length + frame.length);
    both.set(head);
    both.set(frame, head.length);
    await writeAll(peer.conn, both);
    const client = await within(clientP, 5000, "101");
    assertEquals(client.status, 101);
    assert(
      client.head.toLowerCase().includes(`x-pad: ${pad}`),
      "the long header reached the client",
    );
    client.peer.readFrames();
    const got = await within(client.peer.waitFrame((x) => x.opcode === OP_TEXT), 5000, "frame");
    assertEquals(dec.decode(got.payload), "right behind the head");
    client.conn.close();
    await within(proxy.nextLog(), 5000, "log");
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws idle: frames the client sent with its request head reach the backend (its read buffers are freed at the 101)", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    const head = enc.encode(wsHead(proxy.port, "/?eager") + "\r\n\r\n");
    const [f1] = encodeFrame(OP_TEXT, enc.encode("sent with the head"));
    const [f2] = encodeFrame(OP_BINARY, pattern(5, 3000));
    const all = new Uint8Array(head.length + f1.length + f2.length);
    all.set(head);
    all.set(f1, head.length);
    all.set(f2, head.length + f1.length);
    await writeAll(conn, all);
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer);
    peer.readFrames();
    const t = await within(peer.waitFrame((x) => x.opcode === OP_TEXT), 5000, "text frame");
    assertEquals(dec.decode(t.payload), "sent with the head");
    const b = await within(peer.waitFrame((x) => x.opcode === OP_BINARY), 5000, "binary frame");
    assertEquals(b.payload, pattern(5, 3000));
    conn.close();
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "CD--");
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws idle: a proxy stop closes every tunnel it holds with 1001 (one listener for them all)", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clients = await within(
      Promise.all(Array.from({ length: 5 }, () => openClient(proxy.port))),
      5000,
      "open",
    );
    // One closed before the stop: the stop must not touch it again.
    clients[0].ws.close(1000);
    await within(clients[0].closed, 5000, "first closed");
    assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "----");
    const closing = proxy.close();
    for (const c of clients.slice(1)) {
      assertEquals((await within(c.closed, 5000, "closed")).code, 1001);
    }
    for (let i = 1; i < 5; i++) {
      assertEquals((await within(proxy.nextLog(), 5000, "log")).termination, "KD--");
    }
    assertEquals(proxy.logs.length, 5);
    await closing;
  } finally {
    await backend.close();
  }
});
