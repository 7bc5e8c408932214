// The accept loop both client-side servers share (HTTP in src/downstream/, TCP in src/tcp/):
// accept, take a maxconn slot (while none is free nothing more is accepted: clients wait in
// the kernel's backlog), then hand the connection over; an accept error such as EMFILE is
// said and retried after a pause. Subclasses say how a slot is taken and how a connection is
// served.

const NOOP = () => {};

export abstract class Acceptor {
  draining = false;
  /** An accepted connection waiting for a maxconn slot (not served yet). */
  protected admitting: Deno.Conn | null = null;
  protected closed = false;
  readonly addr: Deno.NetAddr;

  constructor(protected readonly listener: Deno.Listener) {
    this.addr = listener.addr as Deno.NetAddr;
  }

  /** A slot for a new connection: its once-only release (or a promise of it); null: no limit. */
  protected abstract admit(): (() => void) | Promise<() => void> | null;

  /** Serves an accepted connection; `release` frees its slot (once, when it is over). */
  protected abstract serve(c: Deno.Conn, release: () => void): void;

  async acceptLoop(): Promise<void> {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await this.listener.accept();
      } catch (err) {
        if (this.closed || err instanceof Deno.errors.BadResource) return;
        if (err instanceof Deno.errors.Interrupted) return;
        // EMFILE and the like: say so, breathe, go on accepting.
        console.error(`wtproxy: accept on ${this.addr.hostname}:${this.addr.port}: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      let release = NOOP;
      const a = this.draining ? null : this.admit();
      if (a instanceof Promise) {
        this.admitting = c;
        release = await a;
        this.admitting = null;
      } else if (a !== null) release = a;
      if (this.draining) {
        release();
        try {
          c.close();
        } catch { /* gone */ }
        if (this.closed) return;
        continue;
      }
      try {
        (c as Deno.TcpConn).setNoDelay?.(true); // a TLS connection has none
      } catch { /* not fatal */ }
      this.serve(c, release);
    }
  }

  /** Stops accepting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.listener.close();
    } catch { /* already closed */ }
  }

  /** Stops accepting for good and closes the connection still waiting for a slot. */
  protected stopAccepting(): void {
    this.close();
    this.draining = true;
    try {
      this.admitting?.close();
    } catch { /* gone */ }
  }
}
