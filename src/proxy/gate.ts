// maxconn. A client connection holds a slot from accept to close (a WebSocket until its
// tunnel closes the client socket). While none is free the listener accepts nothing more:
// clients wait in the kernel's listen backlog (sized to maxconn, as HAProxy does), in FIFO
// order once accepted; none is refused or dropped.

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
