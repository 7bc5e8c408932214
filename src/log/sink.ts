// Log transports: where finished lines go. Every transport queues without blocking the
// caller, bounds its queue, and counts what it had to drop (full queue, send error,
// unresolvable host). UDP is fire-and-forget like HAProxy's: a datagram the kernel accepted
// counts as sent even if nobody listens (ICMP "port unreachable" is not reported back).
//
// - UdpTransport: node:dgram (works under plain `--allow-net`, what `deno task start` gives);
//   with --unstable-net, Deno.listenDatagram instead (cheaper per send). One datagram per
//   message, one send in flight (keeps the order).
// - UnixTransport: a unix datagram socket such as /dev/log through Deno.listenDatagram's
//   "unixpacket" transport (Deno's name for SOCK_DGRAM unix sockets). Needs --unstable-net,
//   and --allow-write/--allow-read for the client socket it binds in a temp directory.
//   node:dgram has no unix sockets.
// - StreamTransport: stdout/stderr; lines queued in the same tick go out in one write.

import dgram from "node:dgram";
import dns from "node:dns";

export interface Transport {
  /** "udp:HOST:PORT", "unix:PATH", "stdout", "stderr": equal keys share one transport. */
  readonly key: string;
  /** Queues one datagram or line; never throws, never waits. false = dropped (counted). */
  send(bytes: Uint8Array): boolean;
  /** Messages dropped so far. */
  dropped(): number;
  /** Messages handed to the kernel so far. */
  sent(): number;
  /** Resolves when the queue is empty, or after `timeoutMs`, whichever comes first. */
  flush(timeoutMs: number): Promise<void>;
  /** Flushes (bounded) and releases the socket; later sends are dropped. */
  close(timeoutMs?: number): Promise<void>;
}

export interface QueueOptions {
  /** Messages waiting at most (default 4096); more are dropped. */
  queueLimit?: number;
  /**
   * Sends in flight at once (default 1). Keep 1: node:dgram in Deno 2.9 delivers sends issued
   * together in reverse order, and operators read events in order (DOWN before "no server").
   * One at a time still passes ~130k datagrams/s on loopback.
   */
  inFlight?: number;
  /**
   * Called after the counters change with how many more messages were sent and dropped (the
   * sender worker mirrors them to the main thread through shared memory).
   */
  onCount?: (sent: number, dropped: number) => void;
}

/** A bounded FIFO of datagrams with a few sends in flight; subclasses transmit one. */
abstract class DatagramTransport implements Transport {
  private ring: (Uint8Array | undefined)[];
  private head = 0;
  private size = 0;
  private inflight = 0;
  private readonly maxInflight: number;
  private nDropped = 0;
  private nSent = 0;
  private idleWaiters: (() => void)[] = [];
  protected closed = false;
  private scheduled = false;
  private pumping = false;
  private readonly onCount?: (sent: number, dropped: number) => void;

  constructor(readonly key: string, opts: QueueOptions) {
    this.ring = new Array(opts.queueLimit ?? 4096);
    this.maxInflight = opts.inFlight ?? 1;
    this.onCount = opts.onCount;
  }

  /** Starts sending `bytes`; must call `done` exactly once. May throw (counted as a drop). */
  protected abstract transmit(bytes: Uint8Array, done: (err: unknown) => void): void;
  /** False while not ready to transmit (e.g. resolving); pump() is called again when ready. */
  protected ready(): boolean {
    return true;
  }

  send(bytes: Uint8Array): boolean {
    if (this.closed || this.size === this.ring.length) {
      this.nDropped++;
      this.onCount?.(0, 1);
      return false;
    }
    this.ring[(this.head + this.size) % this.ring.length] = bytes;
    this.size++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.pump();
      });
    }
    return true;
  }

  /** Drops everything queued (counted), e.g. when the destination cannot be resolved. */
  protected dropQueued(): void {
    this.nDropped += this.size;
    if (this.size) this.onCount?.(0, this.size);
    this.ring.fill(undefined);
    this.size = 0;
    this.head = 0;
    this.checkIdle();
  }

  protected pump(): void {
    if (this.pumping || !this.ready()) return;
    this.pumping = true;
    while (this.inflight < this.maxInflight && this.size > 0) {
      const bytes = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
      this.inflight++;
      let called = false;
      const done = (err: unknown) => {
        if (called) return;
        called = true;
        this.inflight--;
        if (err) this.nDropped++;
        else this.nSent++;
        this.onCount?.(err ? 0 : 1, err ? 1 : 0);
        if (this.pumping) return; // a synchronous completion inside pump(): its loop goes on
        if (this.size > 0) this.pump();
        else this.checkIdle();
      };
      try {
        this.transmit(bytes, done);
      } catch (err) {
        done(err ?? new Error("send failed"));
      }
    }
    this.pumping = false;
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.size === 0 && this.inflight === 0 && this.idleWaiters.length) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  dropped(): number {
    return this.nDropped;
  }

  sent(): number {
    return this.nSent;
  }

  flush(timeoutMs: number): Promise<void> {
    if (this.size === 0 && this.inflight === 0) return Promise.resolve();
    return waitIdle(this.idleWaiters, timeoutMs);
  }

  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    await this.flush(timeoutMs);
    this.closed = true;
    this.nDropped += this.size;
    if (this.size) this.onCount?.(0, this.size);
    this.size = 0;
    this.release();
  }

  protected abstract release(): void;
}

/**
 * Registers a waiter in `waiters` (called when the queue empties) and resolves on it or after
 * `timeoutMs`. The waiter is registered before the timer is created: under `deno test`,
 * creating a timer can run pending microtasks (a drain finishing in between would be missed).
 */
function waitIdle(waiters: (() => void)[], timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t: { done: boolean; timer?: ReturnType<typeof setTimeout> } = { done: false };
    const finish = () => {
      t.done = true;
      if (t.timer !== undefined) clearTimeout(t.timer);
      resolve();
    };
    waiters.push(finish);
    t.timer = setTimeout(() => {
      const i = waiters.indexOf(finish);
      if (i >= 0) waiters.splice(i, 1);
      resolve();
    }, timeoutMs);
    if (t.done) clearTimeout(t.timer);
  });
}

function ipFamily(host: string): 4 | 6 | 0 {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return 4;
  if (host.includes(":")) return 6;
  return 0;
}

/** RFC 3164 datagrams over UDP to host:port (host may be a name: resolved once, retried). */
export class UdpTransport extends DatagramTransport {
  private sendFn: ((bytes: Uint8Array, done: (err: unknown) => void) => void) | null = null;
  private closeFn: (() => void) | null = null;
  private address: string | null = null;
  private resolving = false;
  private retryAt = 0;

  constructor(readonly host: string, readonly port: number, opts: QueueOptions = {}) {
    super(`udp:${host}:${port}`, opts);
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    const fam = ipFamily(bare);
    if (fam) this.open(bare, fam);
  }

  private open(address: string, family: 4 | 6): void {
    const listen = listenDatagramFn();
    if (listen) {
      // --unstable-net: Deno's own datagram socket costs ~40% less per send than node:dgram.
      const conn = listen({
        transport: "udp",
        hostname: family === 6 ? "::" : "0.0.0.0",
        port: 0,
      }) as UdpDatagramConn;
      const to = { transport: "udp" as const, hostname: address, port: this.port };
      this.sendFn = (bytes, done) => conn.send(bytes, to).then(() => done(null), done);
      this.closeFn = () => conn.close();
    } else {
      const socket = dgram.createSocket(family === 6 ? "udp6" : "udp4");
      // Send errors arrive in the send callbacks; an 'error' event must not crash the process.
      socket.on("error", () => {});
      const port = this.port;
      this.sendFn = (bytes, done) => socket.send(bytes, port, address, (err) => done(err));
      this.closeFn = () => socket.close();
    }
    this.address = address;
  }

  protected override ready(): boolean {
    if (this.sendFn) return true;
    if (this.closed || this.resolving) return false;
    if (Date.now() < this.retryAt) {
      this.dropQueued();
      return false;
    }
    this.resolving = true;
    dns.lookup(this.host, { family: 0 }, (err, address, family) => {
      this.resolving = false;
      if (this.closed) return;
      if (err || !address) {
        this.retryAt = Date.now() + 5000;
        this.dropQueued();
        return;
      }
      this.open(address, family === 6 ? 6 : 4);
      this.pump();
    });
    return false;
  }

  protected transmit(bytes: Uint8Array, done: (err: unknown) => void): void {
    this.sendFn!(bytes, done);
  }

  protected release(): void {
    try {
      this.closeFn?.();
    } catch { /* already closed */ }
    this.sendFn = null;
    this.closeFn = null;
  }
}

interface UnixDatagramConn {
  send(p: Uint8Array, addr: { transport: "unixpacket"; path: string }): Promise<number>;
  close(): void;
}
interface UdpDatagramConn {
  send(p: Uint8Array, addr: { transport: "udp"; hostname: string; port: number }): Promise<number>;
  close(): void;
}
type ListenDatagram = (
  o: { transport: "unixpacket"; path: string } | {
    transport: "udp";
    hostname: string;
    port: number;
  },
) => UnixDatagramConn | UdpDatagramConn;

function listenDatagramFn(): ListenDatagram | undefined {
  const fn = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  return typeof fn === "function" ? fn : undefined;
}

/**
 * Why unix datagram targets cannot be used in this process, or null when they can.
 * Deno 2.9 has them only behind --unstable-net (Deno.listenDatagram, transport "unixpacket").
 */
export function unixLogUnsupported(): string | null {
  return listenDatagramFn() ? null : "unix datagram log targets need Deno's --unstable-net flag " +
    "(Deno.listenDatagram); run with --unstable-net (and --allow-write for the client " +
    "socket in the temp directory) or log to UDP, e.g. 127.0.0.1:514";
}

/** Datagrams to a unix datagram socket such as /dev/log (needs --unstable-net). */
export class UnixTransport extends DatagramTransport {
  private conn: UnixDatagramConn;
  private dir: string;

  constructor(readonly path: string, opts: QueueOptions = {}) {
    super(`unix:${path}`, opts);
    const listen = listenDatagramFn();
    if (!listen) throw new Error(unixLogUnsupported()!);
    // A unix datagram client must be bound to a path of its own to send from.
    this.dir = Deno.makeTempDirSync({ prefix: "wtproxy-log-" });
    this.conn = listen({
      transport: "unixpacket",
      path: `${this.dir}/client.sock`,
    }) as UnixDatagramConn;
  }

  protected transmit(bytes: Uint8Array, done: (err: unknown) => void): void {
    this.conn.send(bytes, { transport: "unixpacket", path: this.path }).then(
      () => done(null),
      (err) => done(err ?? new Error("send failed")),
    );
  }

  protected release(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch { /* gone */ }
  }
}

/** Something with Deno.stdout's write(): may write fewer bytes than given. */
export interface ByteWriter {
  write(p: Uint8Array): Promise<number>;
}

/**
 * Lines to a byte stream (stdout in containers). Lines queued in one tick are joined into
 * one write; at most `maxBytes` (default 1 MiB) wait; a write error drops the batch and
 * marks the stream broken (later lines are dropped and counted).
 */
export class StreamTransport implements Transport {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private writing = false;
  private broken = false;
  private closed = false;
  private nDropped = 0;
  private nSent = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly key: string,
    private readonly writer: ByteWriter,
    private readonly maxBytes = 1 << 20,
  ) {}

  send(bytes: Uint8Array): boolean {
    if (this.closed || this.broken || this.pendingBytes + bytes.length > this.maxBytes) {
      this.nDropped++;
      return false;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.writing) {
      this.writing = true;
      queueMicrotask(() => this.drain());
    }
    return true;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      let buf: Uint8Array;
      if (batch.length === 1) buf = batch[0];
      else {
        let n = 0;
        for (const b of batch) n += b.length;
        buf = new Uint8Array(n);
        let o = 0;
        for (const b of batch) {
          buf.set(b, o);
          o += b.length;
        }
      }
      try {
        let off = 0;
        while (off < buf.length) off += await this.writer.write(buf.subarray(off));
        this.nSent += batch.length;
      } catch {
        this.broken = true;
        this.nDropped += batch.length + this.pending.length;
        this.pending = [];
        this.pendingBytes = 0;
      }
    }
    this.writing = false;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  dropped(): number {
    return this.nDropped;
  }

  sent(): number {
    return this.nSent;
  }

  flush(timeoutMs: number): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return waitIdle(this.idleWaiters, timeoutMs);
  }

  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    await this.flush(timeoutMs);
    this.closed = true;
  }
}
