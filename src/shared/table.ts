// The state every thread sees: one SharedArrayBuffer made by the control plane and handed to
// each data-plane worker with its configuration. One slot per name (frontend, backend,
// "backend/server"), stable across reloads, so state survives a reload as it did in one thread.
//
// Two regions:
// - gauges (Int32, one row per slot): what a decision in any worker depends on, so one copy
//   moved with Atomics: health, admin state and weight (written by the control plane), current
//   connections and their maximum, the maxconn gate.
// - counters (Float64, one block of rows per thread): requests, bytes, errors... each thread
//   writes only its own block with plain stores (no contention, no atomics on the hot path);
//   the control plane reads the sum (and the split, for requests per worker).
// - ledger (Int32, one block per thread): what each thread added to the additive gauges
//   (connections, gate slots), so the control plane can take back what a dead worker held.
// At nbthread 1 the same table lives in a plain ArrayBuffer with one counter block.

/** Int32 fields of a gauge row. */
export const G = {
  health: 0,
  admin: 1,
  weight: 2,
  current: 3,
  max: 4,
  /** The maxconn gate's taken slots (frontend rows; the global row for global.maxconn). */
  gate: 5,
  /** Live Wt sessions on a server (the session table publishes them). */
  sessions: 6,
  /** 1: a DNS-discovered server without an address (HAProxy's RMAINT). */
  rmaint: 7,
  /** 1: UP but answering its HTTP check with 404 under `http-check disable-on-404` (NOLB). */
  nolb: 8,
} as const;
/** Even, so that the Float64 counters after the gauges stay 8-byte aligned (one field spare). */
export const GAUGE_STRIDE = 10;

/** Float64 fields of a counter row. */
export const C = {
  requests: 0,
  bytesIn: 1,
  bytesOut: 2,
  connectErrors: 3,
  responseErrors: 4,
  retries: 5,
  redispatches: 6,
  wsOpen: 7,
  wsTotal: 8,
  wsMessagesIn: 9,
  wsMessagesOut: 10,
  wsBytesIn: 11,
  wsBytesOut: 12,
  timeSum: 13,
  timeCount: 14,
  /** 6 entries: status class 0 (other), 1xx .. 5xx. */
  responses: 15,
  /** TIME_BUCKETS_MS.length + 1 entries. */
  timeBuckets: 21,
} as const;
export const COUNTER_STRIDE = 34;

/** Row of the process-wide gauges (activeConnections, the global maxconn gate). */
export const GLOBAL_SLOT = 0;

/** What crosses to a worker (structured clone keeps the SharedArrayBuffer shared). */
export interface TableInit {
  /** Changes when the control plane makes a bigger table (a worker then rebinds). */
  generation: number;
  buffer: SharedArrayBuffer | ArrayBuffer;
  capacity: number;
  /** Counter blocks: block 0 = the control plane, block i = worker i. */
  blocks: number;
  slots: [string, number][];
}

export class SharedTable {
  readonly gauges: Int32Array;
  readonly counters: Float64Array;
  readonly ledger: Int32Array;
  /** This thread's ledger block starts here. */
  private readonly lo: number;
  private readonly slots: Map<string, number>;
  private next: number;

  private constructor(
    readonly init: TableInit,
    /** The counter block this thread writes (0 in the control plane). */
    readonly block: number,
  ) {
    const { buffer, capacity, blocks } = init;
    const gaugeBytes = capacity * GAUGE_STRIDE * 4;
    this.gauges = new Int32Array(buffer, 0, capacity * GAUGE_STRIDE);
    this.counters = new Float64Array(buffer, gaugeBytes, capacity * COUNTER_STRIDE * blocks);
    const ledgerAt = gaugeBytes + capacity * COUNTER_STRIDE * blocks * 8;
    this.ledger = new Int32Array(buffer, ledgerAt, capacity * GAUGE_STRIDE * blocks);
    this.lo = block * capacity * GAUGE_STRIDE;
    this.slots = new Map(init.slots);
    this.next = Math.max(GLOBAL_SLOT, ...this.slots.values()) + 1;
  }

  /** A table for `blocks` counter blocks (1 + workers), shared when `shared`. */
  static create(capacity: number, blocks: number, shared: boolean): SharedTable {
    const bytes = capacity * (GAUGE_STRIDE * 4 + COUNTER_STRIDE * 8 * blocks) +
      capacity * GAUGE_STRIDE * 4 * blocks;
    const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    return new SharedTable({ generation: ++generations, buffer, capacity, blocks, slots: [] }, 0);
  }

  /** A worker's view of the control plane's table. */
  static attach(init: TableInit, block: number): SharedTable {
    return new SharedTable(init, block);
  }

  /** What to send to a worker: the buffer and the slots allocated so far. */
  describe(): TableInit {
    return { ...this.init, slots: [...this.slots] };
  }

  get capacity(): number {
    return this.init.capacity;
  }

  get blocks(): number {
    return this.init.blocks;
  }

  /** Summing reads over every block (the control plane of several workers). */
  get summing(): boolean {
    return this.block === 0 && this.init.blocks > 1;
  }

  /** The slot of `key` (allocated on first use; null when the table is full). */
  slot(key: string): number | null {
    let s = this.slots.get(key);
    if (s !== undefined) return s;
    if (this.next >= this.capacity) return null;
    s = this.next++;
    this.slots.set(key, s);
    return s;
  }

  /** A worker takes the slots the control plane allocated (it never allocates itself). */
  adopt(slots: [string, number][]): void {
    for (const [k, s] of slots) this.slots.set(k, s);
    this.next = Math.max(this.next, ...slots.map(([, s]) => s + 1));
  }

  /** A copy with room for `capacity` slots (same slots, same values, same sharing). */
  grown(capacity: number): SharedTable {
    const blocks = this.blocks;
    const next = SharedTable.create(
      capacity,
      blocks,
      this.init.buffer instanceof SharedArrayBuffer,
    );
    next.gauges.set(this.gauges);
    for (let b = 0; b < blocks; b++) {
      const from = b * this.capacity * GAUGE_STRIDE;
      next.ledger.set(
        this.ledger.subarray(from, from + this.capacity * GAUGE_STRIDE),
        b * capacity * GAUGE_STRIDE,
      );
    }
    for (let b = 0; b < blocks; b++) {
      const from = this.counterBase(0, b);
      next.counters.set(
        this.counters.subarray(from, from + this.capacity * COUNTER_STRIDE),
        next.counterBase(0, b),
      );
    }
    next.adopt([...this.slots]);
    return next;
  }

  /**
   * A worker moving from `old` to this grown copy of it: what the worker wrote to `old` after
   * the control plane copied it (requests kept counting until the worker got the new table)
   * is carried over, so no connection count drifts and no counter increment is lost. Its
   * counter block is its own (the old one is the truth); its gauge additions are the
   * difference between its ledgers.
   */
  carryOver(old: SharedTable): void {
    const b = this.block;
    const from = old.counterBase(0, b);
    this.counters.set(
      old.counters.subarray(from, from + old.capacity * COUNTER_STRIDE),
      this.counterBase(0, b),
    );
    const cells = old.capacity * GAUGE_STRIDE;
    for (let i = 0; i < cells; i++) {
      const d = old.ledger[old.lo + i] - this.ledger[this.lo + i];
      if (d !== 0) {
        this.ledger[this.lo + i] += d;
        Atomics.add(this.gauges, i, d);
      }
    }
  }

  /** Adds `delta` to gauge cell `i` for every thread, noted in this thread's ledger; returns
   * the value before. */
  add(i: number, delta: number): number {
    this.ledger[this.lo + i] += delta;
    return Atomics.add(this.gauges, i, delta);
  }

  /** Takes back what worker `block` added and still held (it died); clears its ledger. */
  release(block: number): void {
    const from = block * this.capacity * GAUGE_STRIDE;
    for (let i = 0; i < this.capacity * GAUGE_STRIDE; i++) {
      const held = this.ledger[from + i];
      if (held !== 0) {
        Atomics.sub(this.gauges, i, held);
        this.ledger[from + i] = 0;
      }
    }
  }

  /** Slots in use (for sizing a new table on reload). */
  get used(): number {
    return this.next;
  }

  /** Index of `field` of `slot` in `counters` for `block`. */
  counterBase(slot: number, block = this.block): number {
    return (block * this.capacity + slot) * COUNTER_STRIDE;
  }

  gaugeBase(slot: number): number {
    return slot * GAUGE_STRIDE;
  }
}

let generations = 0;

/** Room for `needed` slots with space for reloads that add names. */
export function capacityFor(needed: number): number {
  return Math.max(64, needed * 2 + 16);
}
