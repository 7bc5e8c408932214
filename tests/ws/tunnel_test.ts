// The byte tunnel alone, on loopback socket pairs (no HTTP): bytes both ways with TCP
// backpressure, the frame scanner's counts, close handshakes, the 1011/1001 frames of the proxy
// at frame boundaries only, half-close, idle timeout and the close grace.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Counters } from "../../src/state.ts";
import { liveTunnels, Tunnel, type TunnelOptions } from "../../src/ws/relay.ts";
import { armedWatchdogs } from "../../src/net/watchdog.ts";
import {
  closePayload,
  encodeFrame,
  FrameDecoder,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  parseClose,
} from "./codec.ts";
import { serverFrame, sleep, within, writeAll } from "./harness.ts";

const enc = new TextEncoder();

/** A connected loopback pair. */
async function pair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [a, b] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port }),
      l.accept(),
    ]);
    return [a, b];
  } finally {
    l.close();
  }
}

/** One side of the tunnel as a test peer: frames decoded (masks removed), EOF noticed. */
class Peer {
  frames: { fin: boolean; opcode: number; payload: Uint8Array }[] = [];
  bytes = 0;
  eof = false;
  private waiters: (() => void)[] = [];
  reading: Promise<void> | null = null;
  constructor(readonly conn: Deno.TcpConn) {}

  read(): this {
    const d = new FrameDecoder((fin, opcode, payload) => {
      this.frames.push({ fin, opcode, payload: payload.slice() });
    }, 1 << 30);
    this.reading = (async () => {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await this.conn.read(buf);
          if (n === null) break;
          this.bytes += n;
          d.push(buf.subarray(0, n));
          this.wake();
        }
      } catch { /* reset or closed */ }
      this.eof = true;
      this.wake();
    })();
    return this;
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond` holds (checked after each read). */
  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
      await within(new Promise<void>((r) => this.waiters.push(r)), ms, what).catch(() => {});
    }
  }

  close() {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

interface Setup {
  /** The test's client socket (speaks masked frames). */
  client: Peer;
  /** The test's backend socket (speaks unmasked frames). */
  backend: Peer;
  counters: Counters;
  ends: [string, number][];
  released: number;
  ended: Promise<[string, number]>;
  abort: AbortController;
  tunnel: Tunnel;
  cleanup(): void;
}

async function setup(
  opts: Partial<TunnelOptions> & { clientFirst?: Uint8Array; backendFirst?: Uint8Array } = {},
): Promise<Setup> {
  const [cTest, cProxy] = await pair();
  const [bProxy, bTest] = await pair();
  const counters = new Counters();
  const abort = new AbortController();
  let resolveEnd!: (v: [string, number]) => void;
  const s: Setup = {
    client: new Peer(cTest),
    backend: new Peer(bTest),
    counters,
    ends: [],
    released: 0,
    ended: new Promise((r) => (resolveEnd = r)),
    abort,
    tunnel: null as unknown as Tunnel,
    cleanup() {
      s.client.close();
      s.backend.close();
      abort.abort();
    },
  };
  s.tunnel = new Tunnel({
    client: cProxy,
    clientBuffered: opts.clientFirst ?? new Uint8Array(0),
    backend: bProxy,
    backendBuffered: opts.backendFirst ?? new Uint8Array(0),
    idle: opts.idle ?? null,
    limits: opts.limits ?? { closeGraceMs: 2000 },
    counters: [counters],
    signal: abort.signal,
    onEnd(termination, bytes) {
      s.ends.push([termination, bytes]);
      resolveEnd([termination, bytes]);
    },
    onConnClosed() {
      s.released++;
    },
  });
  return s;
}

/** A masked client frame. */
function clientFrame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const p = typeof payload === "string" ? enc.encode(payload) : payload;
  const parts = encodeFrame(opcode, p, false, fin);
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts[0].length + parts[1].length);
  out.set(parts[0]);
  out.set(parts[1], parts[0].length);
  return out;
}

function closeCode(p: Uint8Array): number | null {
  return parseClose(p).code;
}

Deno.test("tunnel: bytes both ways, buffered first bytes, counts; clean close handshake", async () => {
  const s = await setup({
    clientFirst: clientFrame(OP_TEXT, "early from client"),
    backendFirst: serverFrame(OP_TEXT, "wt speaks first"),
  });
  try {
    const c = s.client.read();
    const b = s.backend.read();
    await b.until(() => b.frames.length === 1, "early client frame");
    await c.until(() => c.frames.length === 1, "early backend frame");
    assertEquals(new TextDecoder().decode(b.frames[0].payload), "early from client");
    assertEquals(new TextDecoder().decode(c.frames[0].payload), "wt speaks first");
    assertEquals(liveTunnels.has(s.tunnel), true);
    assertEquals([s.counters.wsOpen, s.counters.wsTotal], [1, 1]);
    // A fragmented message with a ping in between, a frame split in 1-byte writes, 16 MB.
    await writeAll(s.backend.conn, serverFrame(OP_TEXT, "frag-", false));
    await writeAll(s.backend.conn, serverFrame(OP_PING, "p"));
    await writeAll(s.backend.conn, serverFrame(OP_CONT, "ment", true));
    const split = clientFrame(OP_BINARY, new Uint8Array(300).fill(9));
    for (let i = 0; i < split.length; i++) await writeAll(s.client.conn, split.subarray(i, i + 1));
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 1000) big[i] = i & 255;
    await Promise.all([
      writeAll(s.client.conn, clientFrame(OP_BINARY, big)),
      writeAll(s.backend.conn, serverFrame(OP_BINARY, big)),
    ]);
    await writeAll(s.client.conn, clientFrame(OP_PONG, "p"));
    await b.until(() => b.frames.length === 4, "client frames");
    await c.until(() => c.frames.length === 5, "backend frames");
    assertEquals(b.frames[1].payload.length, 300);
    assertEquals(b.frames[2].payload, big);
    assertEquals(c.frames.map((f) => f.opcode), [OP_TEXT, OP_TEXT, OP_PING, OP_CONT, OP_BINARY]);
    assertEquals(c.frames[4].payload, big);
    const k = s.counters;
    // Messages: client 3 (text, 300 B, 16 MB); backend 3 (text, fragmented text, 16 MB).
    assertEquals([k.wsMessagesIn, k.wsMessagesOut], [3, 3]);
    assertEquals(k.wsBytesIn, 17 + 300 + big.length);
    assertEquals(k.wsBytesOut, 15 + 9 + big.length);
    assertEquals(k.bytesIn, k.wsBytesIn);
    // Client-initiated close: relayed, answered, the backend closes: "----".
    await writeAll(s.client.conn, clientFrame(OP_CLOSE, closePayload(4001, "bye")));
    await b.until(() => b.frames.length === 5, "close at the backend");
    assertEquals(parseClose(b.frames[4].payload), { code: 4001, reason: "bye" });
    await writeAll(s.backend.conn, serverFrame(OP_CLOSE, b.frames[4].payload));
    await c.until(() => c.frames.length === 6, "close answer at the client");
    s.backend.close();
    const [term, bytes] = await within(s.ended, 5000, "end");
    assertEquals(term, "----");
    assertEquals(bytes, c.bytes);
    await c.until(() => c.eof, "client socket closed");
    assertEquals([s.released, k.wsOpen, liveTunnels.has(s.tunnel)], [1, 0, false]);
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: backend gone at a frame boundary -> client gets 1011 then EOF (SD--)", async () => {
  const s = await setup();
  try {
    const c = s.client.read();
    s.backend.read();
    await writeAll(s.backend.conn, serverFrame(OP_TEXT, "hi"));
    await c.until(() => c.frames.length === 1, "message");
    s.backend.close();
    await c.until(() => c.eof, "client closed");
    assertEquals(c.frames.length, 2);
    assertEquals(c.frames[1].opcode, OP_CLOSE);
    assertEquals(closeCode(c.frames[1].payload), 1011);
    assertEquals((await within(s.ended, 5000, "end"))[0], "SD--");
    assertEquals(s.released, 1);
    assertEquals(s.ends.length, 1);
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: backend gone mid-frame -> no close frame of ours, just the cut (SD--)", async () => {
  const s = await setup();
  try {
    const c = s.client.read();
    s.backend.read();
    await writeAll(s.backend.conn, serverFrame(OP_BINARY, new Uint8Array(1000)).subarray(0, 500));
    await c.until(() => c.bytes === 500, "half a frame");
    s.backend.close();
    await c.until(() => c.eof, "client closed");
    assertEquals(c.bytes, 500);
    assertEquals((await within(s.ended, 5000, "end"))[0], "SD--");
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: client gone -> backend socket closed, no frame (CD--)", async () => {
  const s = await setup();
  try {
    s.client.read();
    const b = s.backend.read();
    await writeAll(s.client.conn, clientFrame(OP_TEXT, "x"));
    await b.until(() => b.frames.length === 1, "message");
    s.client.close();
    await b.until(() => b.eof, "backend closed");
    assertEquals(b.frames.length, 1);
    assertEquals((await within(s.ended, 5000, "end"))[0], "CD--");
    assertEquals(s.released, 1);
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: half-close after a close frame; the other side still answers", async () => {
  const s = await setup();
  try {
    const c = s.client.read();
    const b = s.backend.read();
    // The backend closes first and shuts its write side.
    await writeAll(s.backend.conn, serverFrame(OP_CLOSE, closePayload(1000, "done")));
    await s.backend.conn.closeWrite();
    await c.until(() => c.frames.length === 1, "close at the client");
    // The client still gets its data and close answer through.
    await writeAll(s.client.conn, clientFrame(OP_TEXT, "last words"));
    await writeAll(s.client.conn, clientFrame(OP_CLOSE, closePayload(1000, "done")));
    await b.until(() => b.frames.length === 2, "last message and close at the backend");
    assertEquals(b.frames.map((f) => f.opcode), [OP_TEXT, OP_CLOSE]);
    assertEquals((await within(s.ended, 5000, "end"))[0], "----");
    await c.until(() => c.eof, "client closed");
    await b.until(() => b.eof, "backend closed");
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: stop (signal) -> 1001 both ways (masked to the backend), KD--, closed on answers", async () => {
  const s = await setup({ limits: { closeGraceMs: 5000 } });
  try {
    const c = s.client.read();
    const b = s.backend.read();
    s.abort.abort();
    await c.until(() => c.frames.length === 1, "close at the client");
    await b.until(() => b.frames.length === 1, "close at the backend");
    assertEquals(parseClose(c.frames[0].payload), { code: 1001, reason: "proxy shutting down" });
    assertEquals(parseClose(b.frames[0].payload).code, 1001);
    assertEquals((await within(s.ended, 5000, "end"))[0], "KD--");
    // The peers answer: the tunnel closes both sockets at once (well before the grace).
    const t0 = Date.now();
    await writeAll(s.client.conn, clientFrame(OP_CLOSE, closePayload(1001)));
    await writeAll(s.backend.conn, serverFrame(OP_CLOSE, closePayload(1001)));
    await c.until(() => c.eof, "client closed");
    await b.until(() => b.eof, "backend closed");
    assert(Date.now() - t0 < 2000, "closed on the answers");
    assertEquals(s.released, 1);
    assertEquals(armedWatchdogs(), 0);
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: stop mid-frame -> no close frame that way; closed after the grace", async () => {
  const s = await setup({ limits: { closeGraceMs: 300 } });
  try {
    const c = s.client.read();
    const b = s.backend.read();
    await writeAll(s.backend.conn, serverFrame(OP_BINARY, new Uint8Array(100)).subarray(0, 50));
    await c.until(() => c.bytes === 50, "half a frame");
    const t0 = Date.now();
    s.abort.abort();
    await b.until(() => b.frames.length === 1, "close at the backend");
    await c.until(() => c.eof, "client closed after the grace");
    assert(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
    assertEquals(c.bytes, 50);
    await b.until(() => b.eof, "backend closed");
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: idle timeout after the configured silence, not before; traffic resets it", async () => {
  const s = await setup({ idle: { ms: 400, termination: "sD--" } });
  try {
    const c = s.client.read();
    const b = s.backend.read();
    for (let i = 0; i < 6; i++) {
      await sleep(150);
      await writeAll(s.client.conn, clientFrame(OP_TEXT, `t${i}`));
    }
    await b.until(() => b.frames.length === 6, "traffic");
    const last = Date.now();
    assertEquals(s.ends.length, 0);
    await c.until(() => c.frames.length === 1, "close at the client", 5000);
    const silence = Date.now() - last;
    assert(silence >= 390, `closed after ${silence} ms of silence`);
    assertEquals(parseClose(c.frames[0].payload), { code: 1001, reason: "idle timeout" });
    await b.until(() => b.frames.length === 7, "close at the backend");
    assertEquals((await within(s.ended, 5000, "end"))[0], "sD--");
    s.client.close();
    s.backend.close();
    await within(c.reading!, 5000, "client reader");
    await sleep(50);
    assertEquals(s.released, 1);
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: garbage stops the counting, the bytes still flow, no 1011 after it", async () => {
  const s = await setup();
  try {
    const c = s.client.read();
    s.backend.read();
    await writeAll(s.backend.conn, serverFrame(OP_TEXT, "ok"));
    await c.until(() => c.frames.length === 1, "first");
    // RSV bits without an extension: not a frame the scanner accepts.
    const bad = serverFrame(OP_TEXT, "rsv");
    bad[0] |= 0x40;
    await writeAll(s.backend.conn, bad);
    await writeAll(s.backend.conn, serverFrame(OP_TEXT, "after"));
    await c.until(() => c.bytes === 4 + bad.length + 7, "all bytes");
    assertEquals(s.counters.wsMessagesOut, 1);
    s.backend.close();
    await c.until(() => c.eof, "client closed");
    assertEquals(s.counters.wsMessagesOut, 1);
    assertEquals((await within(s.ended, 5000, "end"))[0], "SD--");
  } finally {
    s.cleanup();
  }
});

Deno.test("tunnel: a flooding backend and a client that does not read: TCP pushes back", async () => {
  const s = await setup();
  try {
    s.backend.read();
    const SIZE = 256 * 1024, N = 256; // 64 MB offered
    let sent = 0;
    const msg = serverFrame(OP_BINARY, new Uint8Array(SIZE).fill(1));
    const flood = (async () => {
      for (let i = 0; i < N; i++) {
        await writeAll(s.backend.conn, msg);
        sent += msg.length;
      }
    })().catch(() => {});
    let prev = -1;
    for (let i = 0; i < 40 && sent !== prev; i++) {
      prev = sent;
      await sleep(100);
    }
    assert(sent < N * msg.length, "the backend was held back");
    const relayed = s.counters.wsBytesOut;
    assert(relayed < 32 * 1024 * 1024, `relayed ${relayed} bytes to a client that reads nothing`);
    const c = s.client.read();
    await c.until(() => c.frames.length === N, "all frames", 30000);
    await flood;
    assertEquals(s.counters.wsMessagesOut, N);
  } finally {
    s.cleanup();
  }
});
