// Ordered writes to the backend socket. Frames are queued and written by one loop; small
// queued frames are coalesced into one write (one syscall for a burst of 64-byte messages),
// and partial writes are continued. `queued` is what the relay bounds (client -> backend
// backpressure: the WebSocket API cannot pause the client, so a limit is all there is).

const COALESCE_MAX = 64 * 1024;

export class ConnWriter {
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  queued = 0;
  private running = false;
  private failed = false;
  private idle: (() => void)[] = [];

  /** `onError` is called once when a write fails (the socket is gone). */
  constructor(private conn: Deno.Conn, private onError: (err: unknown) => void) {}

  write(chunks: Uint8Array[]): void {
    if (this.failed) return;
    for (const c of chunks) {
      if (c.length === 0) continue;
      this.chunks.push(c);
      this.queued += c.length;
    }
    if (!this.running && this.queued > 0) this.run();
  }

  /** Resolves when everything queued so far has been written (or writing failed). */
  flushed(): Promise<void> {
    if (!this.running || this.failed) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.head < this.chunks.length) {
        let buf = this.chunks[this.head];
        if (buf.length < COALESCE_MAX && this.head + 1 < this.chunks.length) {
          // Coalesce a run of small chunks.
          let total = 0;
          let end = this.head;
          while (end < this.chunks.length && total + this.chunks[end].length <= COALESCE_MAX) {
            total += this.chunks[end].length;
            end++;
          }
          if (end - this.head > 1) {
            buf = new Uint8Array(total);
            let off = 0;
            for (let i = this.head; i < end; i++) {
              buf.set(this.chunks[i], off);
              off += this.chunks[i].length;
            }
          }
          this.head = end;
        } else {
          this.head++;
        }
        let off = 0;
        while (off < buf.length) {
          off += await this.conn.write(off === 0 ? buf : buf.subarray(off));
        }
        this.queued -= buf.length;
        if (this.head > 1024 && this.head * 2 > this.chunks.length) {
          this.chunks = this.chunks.slice(this.head);
          this.head = 0;
        }
      }
      this.chunks = [];
      this.head = 0;
    } catch (err) {
      this.failed = true;
      this.chunks = [];
      this.head = 0;
      this.queued = 0;
      this.onError(err);
    } finally {
      this.running = false;
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
    }
  }
}
