// maxconn. The limit applies to requests in progress, not to connections (a
// request holds its slot until its response body has been sent). Requests beyond the limit
// wait in FIFO order until a slot frees: none is refused or dropped. The kernel's listen
// backlog is set to maxconn (tcpBacklog), as HAProxy does.

export class Gate {
  active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(public limit: number) {}

  /** Takes a slot: true at once when free, else a promise resolved when one frees. */
  acquire(): true | Promise<void> {
    if (this.limit <= 0 || this.active < this.limit) {
      this.active++;
      return true;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back (handing it straight to the oldest waiter). */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** After a reload raised the limit: let waiters in. */
  setLimit(limit: number): void {
    this.limit = limit;
    while (this.waiting.length > 0 && (limit <= 0 || this.active < limit)) {
      this.active++;
      this.waiting.shift()!();
    }
  }
}
