// Keep-alive pool: a bounded number of idle connections per server ("backend/server"), reused
// most-recent first. A parked connection keeps a read pending, so a server that closes it is
// noticed at once; idle ones are closed after `idleTimeoutMs`.

import { UpstreamConn } from "./conn.ts";
import { Watchdog } from "../net/watchdog.ts";

export interface PoolOptions {
  /** Idle connections kept per server (default 256). */
  maxIdlePerServer?: number;
  /** Idle connections are closed after this long (default 5000 ms, HAProxy's pool-purge-delay). */
  idleTimeoutMs?: number;
}

export class Pool {
  private readonly idle = new Map<string, UpstreamConn[]>();
  readonly maxIdle: number;
  readonly idleTimeoutMs: number;
  private closed = false;

  constructor(opts: PoolOptions = {}) {
    this.maxIdle = opts.maxIdlePerServer ?? 256;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
  }

  /** An idle connection to `key`, or undefined. */
  take(key: string): UpstreamConn | undefined {
    const list = this.idle.get(key);
    if (!list) return undefined;
    const uc = list.pop();
    if (!uc) return undefined;
    this.unpark(uc);
    return uc;
  }

  /** Parks a connection whose exchange completed cleanly, or closes it when full/closed. */
  release(uc: UpstreamConn): void {
    if (this.closed || uc.closed || uc.buffered > 0) {
      uc.close();
      return;
    }
    let list = this.idle.get(uc.key);
    if (!list) this.idle.set(uc.key, list = []);
    if (list.length >= this.maxIdle) {
      uc.close();
      return;
    }
    uc.reused = true;
    uc.idle = true;
    list.push(uc);
    // One watchdog per connection, made on its first park and re-armed on the next ones.
    (uc.idleWatchdog ??= new Watchdog(this.idleTimeoutMs, () => this.drop(uc))).arm();
    // Anything that settles this read while parked means the connection is unusable (the
    // handler too is made on the first park).
    const dropIfIdle = uc.dropIfIdle ??= () => {
      if (uc.idle) this.drop(uc);
    };
    uc.startIdleRead().then(dropIfIdle, dropIfIdle);
  }

  private unpark(uc: UpstreamConn): void {
    uc.idle = false;
    uc.idleWatchdog?.disarm();
  }

  private drop(uc: UpstreamConn): void {
    if (!uc.idle) return;
    this.unpark(uc);
    const list = this.idle.get(uc.key);
    if (list) {
      const i = list.indexOf(uc);
      if (i !== -1) list.splice(i, 1);
      if (list.length === 0) this.idle.delete(uc.key);
    }
    uc.close();
  }

  /** Idle connections for `key` (or all). */
  size(key?: string): number {
    if (key !== undefined) return this.idle.get(key)?.length ?? 0;
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** Closes every idle connection of servers not in `keep` (after a reload). */
  prune(keep: ReadonlySet<string>): void {
    for (const [key, list] of [...this.idle]) {
      if (keep.has(key)) continue;
      for (const uc of [...list]) this.drop(uc);
    }
  }

  /** Closes the idle connections of one server address (its DNS address changed). */
  discard(key: string): void {
    for (const uc of [...(this.idle.get(key) ?? [])]) this.drop(uc);
  }

  /** Closes all idle connections; later releases close at once. */
  close(): void {
    this.closed = true;
    for (const list of [...this.idle.values()]) {
      for (const uc of [...list]) this.drop(uc);
    }
  }
}
