// Off-thread datagram sending: a dedicated Worker (sender_worker.ts) owns the UDP and unix
// sockets; the request path only copies each finished datagram into a batch buffer, and the
// batch is transferred (no copy) to the worker every `batchMs` or when the buffer is full.
//
// - Order: one worker, one message channel, batches in order, one FIFO per target in the
//   worker (the same DatagramTransport as on the main thread): DOWN still precedes
//   "no server available".
// - Bound: a target accepts at most `queueLimit` messages not yet sent or dropped by the
//   worker; more are dropped here, synchronously, and counted.
// - Counters: the worker adds what it sent and dropped per target into a SharedArrayBuffer;
//   dropped()/sent() read it, so drops inside the worker (send errors, unresolvable host) are
//   exact and current without any message back.
// - close(): posts what is batched, lets the worker flush (bounded) and close the socket; the
//   worker is terminated when its last target is closed (Logging.stop()).
// - If the worker cannot start (e.g. a `deno compile` binary built without
//   `--include src/log/sender_worker.ts`), what it had is counted as dropped and the targets
//   fall back to main-thread transports.
//
// Batch wire format: [slot u8][len u24 little endian][len bytes] repeated.

import type { QueueOptions, Transport } from "./sink.ts";

/** What the worker needs to open a target. */
export type SocketSpec =
  | { kind: "udp"; host: string; port: number }
  | { kind: "unix"; path: string };

/** Main thread → worker. */
export type ToWorker =
  | { t: "init"; counters: SharedArrayBuffer }
  | { t: "open"; slot: number; spec: SocketSpec; queueLimit: number; inFlight: number }
  | { t: "batch"; buf: ArrayBuffer; used: number }
  | { t: "flush" | "close"; slot: number; req: number; timeoutMs: number };

/** Worker → main thread. */
export type FromWorker = { t: "done"; req: number } | { t: "ready" };

/** Targets one worker serves at once (slot numbers are one byte on the wire). */
export const MAX_SLOTS = 256;
const HEADER = 4;
const BATCH_BYTES = 16 * 1024;

export interface SenderOptions extends QueueOptions {
  /** Longest a datagram waits on the main thread before its batch is posted (default 1 ms). */
  batchMs?: number;
  /** Creates the worker (tests); default the module worker sender_worker.ts. */
  spawn?: () => Worker;
}

/** A main-thread transport for `spec`, used when the worker is not available. */
export type Fallback = (spec: SocketSpec) => Transport;

/** One sender worker shared by the datagram targets of one Logging. */
export class SenderHub {
  private worker: Worker | null = null;
  private dead = false;
  private readonly counters = new SharedArrayBuffer(MAX_SLOTS * 2 * 8);
  private readonly view = new BigInt64Array(this.counters);
  private readonly free: number[] = [];
  private nextSlot = 0;
  private open = 0;
  private buf: Uint8Array | null = null;
  private used = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextReq = 1;
  private readonly waiting = new Map<number, () => void>();
  private readonly batchMs: number;
  private readonly live = new Set<WorkerTransport>();

  constructor(private readonly opts: SenderOptions, private readonly fallback: Fallback) {
    this.batchMs = opts.batchMs ?? 1;
  }

  /** A transport for `spec` whose socket lives in the worker (or a fallback, see above). */
  transport(key: string, spec: SocketSpec): Transport {
    const w = this.free.length === 0 && this.nextSlot >= MAX_SLOTS ? null : this.ensureWorker();
    if (!w) return this.fallback(spec);
    const slot = this.free.pop() ?? this.nextSlot++;
    Atomics.store(this.view, slot * 2, 0n);
    Atomics.store(this.view, slot * 2 + 1, 0n);
    const queueLimit = this.opts.queueLimit ?? 4096;
    w.postMessage(
      { t: "open", slot, spec, queueLimit, inFlight: this.opts.inFlight ?? 1 } satisfies ToWorker,
    );
    this.open++;
    const tr = new WorkerTransport(key, slot, spec, queueLimit, this);
    this.live.add(tr);
    return tr;
  }

  isDead(): boolean {
    return this.dead;
  }

  makeFallback(spec: SocketSpec): Transport {
    return this.fallback(spec);
  }

  /** [sent, dropped] by the worker for `slot`. */
  counts(slot: number): [number, number] {
    return [
      Number(Atomics.load(this.view, slot * 2)),
      Number(Atomics.load(this.view, slot * 2 + 1)),
    ];
  }

  private ensureWorker(): Worker | null {
    if (this.worker || this.dead) return this.worker;
    let w: Worker;
    try {
      w = this.opts.spawn?.() ??
        new Worker(new URL("./sender_worker.ts", import.meta.url), { type: "module" });
    } catch {
      this.die();
      return null;
    }
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.t === "done") {
        const f = this.waiting.get(m.req);
        this.waiting.delete(m.req);
        f?.();
      }
    };
    const onError = (e: Event) => {
      e.preventDefault();
      this.die();
    };
    w.onerror = onError;
    w.onmessageerror = onError;
    w.postMessage({ t: "init", counters: this.counters } satisfies ToWorker);
    this.worker = w;
    return w;
  }

  /** The worker failed: what it held is lost (counted by each transport), fall back. */
  private die(): void {
    if (this.dead) return;
    this.dead = true;
    this.terminate();
    for (const tr of this.live) tr.workerDied();
  }

  /** Appends one datagram for `slot` to the current batch. */
  enqueue(slot: number, bytes: Uint8Array): void {
    const need = HEADER + bytes.length;
    if (this.buf !== null && this.used + need > this.buf.length) this.post();
    if (this.buf === null) this.buf = new Uint8Array(Math.max(BATCH_BYTES, need));
    const b = this.buf;
    let o = this.used;
    const n = bytes.length;
    b[o] = slot;
    b[o + 1] = n & 0xff;
    b[o + 2] = (n >> 8) & 0xff;
    b[o + 3] = (n >> 16) & 0xff;
    b.set(bytes, o + HEADER);
    o += need;
    this.used = o;
    if (this.timer === undefined) this.timer = setTimeout(() => this.post(), this.batchMs);
  }

  /** Posts the current batch now (transferring its buffer). */
  post(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const b = this.buf;
    if (b === null || this.used === 0) return;
    this.buf = null;
    const used = this.used;
    this.used = 0;
    if (this.dead || !this.worker) return; // counted as dropped by the transports
    const buf = b.buffer as ArrayBuffer;
    this.worker.postMessage({ t: "batch", buf, used } satisfies ToWorker, [buf]);
  }

  /** Posts the batch, then asks the worker to flush or close `slot`; resolves when done. */
  request(t: "flush" | "close", slot: number, timeoutMs: number): Promise<void> {
    this.post();
    if (this.dead || !this.worker) return Promise.resolve();
    const req = this.nextReq++;
    const worker = this.worker;
    return new Promise<void>((resolve) => {
      // The worker bounds its own wait by timeoutMs; this one only covers a stuck worker.
      const timer = setTimeout(() => {
        this.waiting.delete(req);
        resolve();
      }, timeoutMs + 1000);
      this.waiting.set(req, () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ t, slot, req, timeoutMs } satisfies ToWorker);
    });
  }

  /** A closed target gives its slot back; the last one terminates the worker. */
  release(tr: WorkerTransport): void {
    this.live.delete(tr);
    this.free.push(tr.slot);
    if (--this.open === 0) this.terminate();
  }

  private terminate(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.buf = null;
    this.used = 0;
    for (const f of this.waiting.values()) f();
    this.waiting.clear();
    this.worker?.terminate();
    this.worker = null;
  }
}

/** The main-thread face of one target served by the worker. */
class WorkerTransport implements Transport {
  private accepted = 0;
  /** sent + dropped by the worker, as last read (refreshed when the queue looks full). */
  private done = 0;
  private localDropped = 0;
  private closed = false;
  /** Counts frozen at close (the slot may then serve another target). */
  private final: [number, number] | null = null;
  private fallback: Transport | null = null;

  constructor(
    readonly key: string,
    readonly slot: number,
    private readonly spec: SocketSpec,
    private readonly limit: number,
    private readonly hub: SenderHub,
  ) {}

  send(bytes: Uint8Array): boolean {
    if (this.fallback) return this.fallback.send(bytes);
    if (this.closed) {
      this.localDropped++;
      return false;
    }
    if (this.accepted - this.done >= this.limit) {
      const [s, d] = this.hub.counts(this.slot);
      this.done = s + d;
      if (this.accepted - this.done >= this.limit) {
        this.localDropped++;
        return false;
      }
    }
    this.accepted++;
    this.hub.enqueue(this.slot, bytes);
    return true;
  }

  /** The worker is gone: what it had not sent is lost; later sends use the main thread. */
  workerDied(): void {
    const [s, d] = this.hub.counts(this.slot);
    this.final = [s, d + (this.accepted - s - d)];
    if (!this.closed) this.fallback = this.hub.makeFallback(this.spec);
  }

  private counts(): [number, number] {
    return this.final ?? this.hub.counts(this.slot);
  }

  dropped(): number {
    return this.localDropped + this.counts()[1] + (this.fallback?.dropped() ?? 0);
  }

  sent(): number {
    return this.counts()[0] + (this.fallback?.sent() ?? 0);
  }

  flush(timeoutMs: number): Promise<void> {
    if (this.fallback) return this.fallback.flush(timeoutMs);
    if (this.final) return Promise.resolve();
    return this.hub.request("flush", this.slot, timeoutMs);
  }

  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.fallback) {
      await this.fallback.close(timeoutMs);
      return;
    }
    if (this.final) return;
    await this.hub.request("close", this.slot, timeoutMs);
    const [s, d] = this.hub.counts(this.slot);
    // Whatever the worker never reported (stuck or gone) is lost: count it.
    this.final = [s, d + Math.max(0, this.accepted - s - d)];
    this.hub.release(this);
  }
}
