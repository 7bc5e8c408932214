// Test harness for the ws room: a tiny front (our own HTTP/1.1 server, startServer, with
// proxyWebSocket and a deps.connect that Deno.connects to one test backend), test backends
// (Deno's WebSocket server, raw TCP), and clients (Deno's WebSocket, raw TCP speaking frames).

import type { RequestLog } from "../../src/log/record.ts";
import type { RequestInfo } from "../../src/proxy/request.ts";
import { requestInfo } from "../../src/proxy/frontend.ts";
import { Counters } from "../../src/state.ts";
import { FrameDecoder } from "./codec.ts";
import { isWebSocketUpgrade, proxyWebSocket, type WsDeps } from "../../src/ws/proxy.ts";
import { newRequestLog } from "../../src/log/record.ts";
import { startServer } from "../../src/downstream/server.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export function emptyLog(info: RequestInfo): RequestLog {
  return { ...newRequestLog("fe", info, Date.now()), actconn: 1, feconn: 1 };
}

export interface TestProxy {
  port: number;
  counters: Counters;
  logs: RequestLog[];
  /** Resolves with the next log record (or one already logged and not yet taken). */
  nextLog(): Promise<RequestLog>;
  /** Aborts deps.signal (tunnels close with 1001) and shuts the front down. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  backendPort: number;
  timeouts?: Partial<WsDeps["timeouts"]>;
  limits?: WsDeps["limits"];
  /** connect() failure to simulate, e.g. { status: 503 }. */
  connectError?: { status?: number; termination?: string };
}

export function startProxy(opts: ProxyOptions): TestProxy {
  const counters = new Counters();
  const logs: RequestLog[] = [];
  let taken = 0;
  const waiters: ((r: RequestLog) => void)[] = [];
  const abort = new AbortController();
  const server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    settings: () => ({ clientTimeout: 10000, httpRequestTimeout: null, keepAliveTimeout: null }),
    async handler(ex, conn) {
      const info = requestInfo(ex, conn);
      if (!isWebSocketUpgrade(info.headers)) {
        return await ex.sendWhole(404, "Not Found", "", enc.encode("not ws"));
      }
      const deps: WsDeps = {
        connect: async () => {
          if (opts.connectError) {
            throw Object.assign(new Error("no server"), opts.connectError);
          }
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: opts.backendPort });
          return { conn, backend: "be", server: "s1", counters: [counters] };
        },
        extraHeaders: [["x-forwarded-for", info.srcIp], ["x-original-to", info.dstIp]],
        timeouts: { tunnel: null, client: null, server: null, connect: null, ...opts.timeouts },
        log: emptyLog(info),
        logger: {
          request(_fe, rec) {
            logs.push({ ...rec });
            const w = waiters.shift();
            if (w) {
              taken++;
              w(logs[logs.length - 1]);
            }
          },
        },
        limits: opts.limits,
        signal: abort.signal,
      };
      await proxyWebSocket(ex, info, deps);
    },
  });
  return {
    port: server.addr.port,
    counters,
    logs,
    nextLog() {
      if (taken < logs.length) return Promise.resolve(logs[taken++]);
      return new Promise((resolve) => waiters.push(resolve));
    },
    async close() {
      abort.abort();
      await server.drain(2000);
      server.kill();
    },
  };
}

export interface EchoBackend {
  port: number;
  /** Request headers of each handshake the backend saw. */
  handshakes: Headers[];
  /** Close events the backend saw: [code, reason]. */
  closes: Promise<[number, string]>[];
  close(): Promise<void>;
}

/**
 * Deno WebSocket echo backend. Special text messages: "close:CODE:REASON" closes with that
 * code; "close" closes without code. Path "/deny" answers 403 with a body. Query "first" sends
 * "first-0".."first-99" as soon as the socket opens; query "flood=NxSIZE" sends N binary
 * messages of SIZE bytes at once. Subprotocol: the last one offered.
 */
export function startEchoBackend(): EchoBackend {
  const handshakes: Headers[] = [];
  const closes: Promise<[number, string]>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    handshakes.push(new Headers(req.headers));
    const url = new URL(req.url);
    if (url.pathname === "/deny") {
      return new Response("denied by backend", {
        status: 403,
        headers: { "x-why": "origin", "set-cookie": "a=1" },
      });
    }
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) =>
      s.trim()
    ).filter(Boolean);
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: offered[offered.length - 1],
      idleTimeout: 0,
    });
    response.headers.set("set-cookie", "ws=1");
    socket.binaryType = "arraybuffer";
    closes.push(
      new Promise((resolve) => {
        socket.onclose = (ev) => resolve([ev.code, ev.reason]);
      }),
    );
    socket.onopen = () => {
      if (url.searchParams.has("first")) {
        for (let i = 0; i < 100; i++) socket.send(`first-${i}`);
      }
      const flood = url.searchParams.get("flood");
      if (flood) {
        const [n, size] = flood.split("x").map(Number);
        const msg = new Uint8Array(size).fill(42);
        for (let i = 0; i < n; i++) socket.send(msg);
      }
    };
    socket.onmessage = (ev) => {
      const d = ev.data;
      if (typeof d === "string" && d.startsWith("close")) {
        const [, code, reason] = d.split(":");
        if (code) socket.close(Number(code), reason);
        else socket.close();
        return;
      }
      socket.send(d);
    };
    return response;
  });
  return {
    port: (server.addr as Deno.NetAddr).port,
    handshakes,
    closes,
    close: () => server.shutdown(),
  };
}

export interface RawBackend {
  port: number;
  /** Connections accepted, with their request head text. */
  accepted: Promise<RawPeer>[];
  close(): void;
}

export interface RawPeer {
  conn: Deno.Conn;
  head: string;
  /** Frames from the proxy (decoded, masks removed), in order. */
  frames: { fin: boolean; opcode: number; payload: Uint8Array }[];
  /** Starts decoding incoming frames (call after answering the handshake). */
  readFrames(): Promise<void>;
  /** Resolves when a frame matching `pred` has arrived. */
  waitFrame(
    pred: (f: { opcode: number; payload: Uint8Array }) => boolean,
  ): Promise<{ opcode: number; payload: Uint8Array }>;
  closed: boolean;
}

async function readHeadRaw(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16384);
  while (true) {
    const n = await conn.read(chunk);
    if (n === null) return { head: dec.decode(buf), rest: new Uint8Array(0) };
    const joined = new Uint8Array(buf.length + n);
    joined.set(buf);
    joined.set(chunk.subarray(0, n), buf.length);
    buf = joined;
    const s = dec.decode(buf);
    const i = s.indexOf("\r\n\r\n");
    if (i >= 0) {
      const headLen = enc.encode(s.slice(0, i + 4)).length;
      return { head: s.slice(0, i), rest: buf.slice(headLen) };
    }
  }
}

function rawPeer(conn: Deno.Conn, head: string, rest: Uint8Array): RawPeer {
  const frames: RawPeer["frames"] = [];
  const waiters: {
    pred: (f: RawPeer["frames"][0]) => boolean;
    resolve: (f: RawPeer["frames"][0]) => void;
  }[] = [];
  const peer: RawPeer = {
    conn,
    head,
    frames,
    closed: false,
    async readFrames() {
      const d = new FrameDecoder((fin, opcode, payload) => {
        const f = { fin, opcode, payload: payload.slice() };
        frames.push(f);
        for (let i = 0; i < waiters.length; i++) {
          if (waiters[i].pred(f)) {
            waiters[i].resolve(f);
            waiters.splice(i, 1);
            i--;
          }
        }
      }, 1 << 30);
      if (rest.length) d.push(rest);
      const buf = new Uint8Array(65536);
      try {
        while (true) {
          const n = await conn.read(buf);
          if (n === null) break;
          d.push(buf.subarray(0, n));
        }
      } catch { /* closed */ }
      peer.closed = true;
    },
    waitFrame(pred) {
      const f = frames.find(pred);
      if (f) return Promise.resolve(f);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
  return peer;
}

/** A raw TCP backend: each accepted connection's head is read; the test answers it. */
export function startRawBackend(): RawBackend {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Promise<RawPeer>[] = [];
  let resolveNext: ((p: RawPeer) => void) | null = null;
  const pushSlot = () => accepted.push(new Promise((r) => (resolveNext = r)));
  pushSlot();
  (async () => {
    try {
      for await (const conn of listener) {
        const r = resolveNext!;
        pushSlot();
        readHeadRaw(conn).then(({ head, rest }) => r(rawPeer(conn, head, rest)));
      }
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted,
    close: () => listener.close(),
  };
}

/** An unmasked (server-role) frame. */
export function serverFrame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const p = typeof payload === "string" ? enc.encode(payload) : payload;
  const len = p.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (ext === 0) out[1] = len;
  else if (ext === 2) {
    out[1] = 126;
    out[2] = len >> 8;
    out[3] = len & 255;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  out.set(p, 2 + ext);
  return out;
}

export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Accept value for a key (test side, independent of src). */
export async function accept(key: string): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-1",
    enc.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return btoa(String.fromCharCode(...new Uint8Array(d)));
}

/** Answers a raw peer's handshake with a proper 101 (and optional extra lines). */
export async function answer101(peer: RawPeer, extra = ""): Promise<void> {
  const key = /sec-websocket-key: *(\S+)/i.exec(peer.head)![1];
  await writeAll(
    peer.conn,
    enc.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await accept(key)}\r\n${extra}\r\n`,
    ),
  );
}

export const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A raw client: sends `head` (request line + header lines, no blank line), returns the answer. */
export async function rawClient(
  port: number,
  head: string,
): Promise<{ conn: Deno.Conn; status: number; head: string; rest: Uint8Array; peer: RawPeer }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, enc.encode(head + "\r\n\r\n"));
  const r = await readHeadRaw(conn);
  const status = Number(r.head.split(" ")[1]);
  return { conn, status, head: r.head, rest: r.rest, peer: rawPeer(conn, r.head, r.rest) };
}

export function wsHead(port: number, target = "/", extra: string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    `Sec-WebSocket-Key: ${KEY}`,
    "Sec-WebSocket-Version: 13",
    ...extra,
  ].join("\r\n");
}

/** A Deno WebSocket client with a message queue. */
export interface Client {
  ws: WebSocket;
  next(): Promise<string | ArrayBuffer>;
  closed: Promise<CloseEvent>;
}

export function openClient(port: number, target = "/", protocols?: string[]): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${target}`, protocols);
  ws.binaryType = "arraybuffer";
  const queue: (string | ArrayBuffer)[] = [];
  const waiters: ((m: string | ArrayBuffer) => void)[] = [];
  ws.onmessage = (ev) => {
    const w = waiters.shift();
    if (w) w(ev.data);
    else queue.push(ev.data);
  };
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  return new Promise((resolve, reject) => {
    ws.onopen = () =>
      resolve({
        ws,
        closed,
        next: () =>
          queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r)),
      });
    ws.onerror = (e) => reject(new Error(`client error: ${(e as ErrorEvent).message}`));
  });
}

/** Rejects after `ms` (bounds every wait in the tests). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
