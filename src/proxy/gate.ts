// maxconn. A client connection holds a slot from accept to close (a WebSocket until its
// tunnel closes the client socket). While none is free the listener accepts nothing more:
// clients wait in the kernel's listen backlog (sized to maxconn, as HAProxy does), in FIFO
// order once accepted; none is refused or dropped.
//
// The count of taken slots is one Int32 cell of the shared table, so with several workers
// maxconn 10 admits 10 connections in all, not 10 per worker. A worker hands a freed slot to
// its own oldest waiter; otherwise it frees it and wakes the other workers' waiters
// (Atomics.notify; they also look again every WATCH_MS).

import { SharedTable } from "../shared/table.ts";

const WATCH_MS = 20;

export class Gate {
  private table: SharedTable = SharedTable.create(1, 1, false);
  private cell: Int32Array = this.table.gauges;
  private index = 0;
  private readonly waiting: (() => void)[] = [];
  private watching = false;

  constructor(public limit: number) {}

  /** Counts in gauge cell `index` of `table` from now on (rebound on reload). */
  bind(table: SharedTable, index: number): void {
    this.table = table;
    this.cell = table.gauges;
    this.index = index;
  }

  /** Slots taken (by every worker). */
  get active(): number {
    return Atomics.load(this.cell, this.index);
  }

  /** Takes a slot: true at once when free, else a promise resolved when one frees. */
  acquire(): true | Promise<void> {
    if (this.waiting.length === 0 && this.take()) return true;
    const p = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.watch();
    return p;
  }

  private take(): boolean {
    const taken = this.table.add(this.index, 1);
    if (this.limit <= 0 || taken < this.limit) return true;
    this.table.add(this.index, -1);
    return false;
  }

  /** Gives a slot back (handing it straight to the oldest waiter of this thread). */
  release(): void {
    const next = this.waiting.shift();
    if (next) return next();
    this.table.add(this.index, -1);
    if (this.cell.buffer instanceof SharedArrayBuffer) Atomics.notify(this.cell, this.index);
  }

  /** Requests waiting for a slot (in this thread). */
  get queued(): number {
    return this.waiting.length;
  }

  /** After a reload raised the limit: let waiters in. */
  setLimit(limit: number): void {
    this.limit = limit;
    this.admitWaiters();
  }

  private admitWaiters(): void {
    while (this.waiting.length > 0 && this.take()) this.waiting.shift()!();
  }

  /** With several workers: waits for a slot freed by another one while waiters remain. */
  private async watch(): Promise<void> {
    if (this.watching || !(this.cell.buffer instanceof SharedArrayBuffer)) return;
    this.watching = true;
    try {
      for (;;) {
        this.admitWaiters();
        if (this.waiting.length === 0) return;
        const seen = Atomics.load(this.cell, this.index);
        if (this.limit > 0 && seen < this.limit) continue;
        const w = Atomics.waitAsync(this.cell, this.index, seen, WATCH_MS);
        if (w.async) await w.value;
      }
    } finally {
      this.watching = false;
    }
  }
}
