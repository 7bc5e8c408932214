// Ordered writes of masked frames to the backend socket. Small frames are encoded straight
// into a batch buffer (no per-message allocation), and a batch is written in one call while
// the previous write is in flight (one syscall for a burst of 64-byte messages); big payloads
// are masked in place and written after their header. Partial writes are continued.
// `queued` is what the relay bounds (client -> backend backpressure: the WebSocket API cannot
// pause the client, so a limit is all there is). No buffer is kept while the writer is idle
// (10 000 idle tunnels must stay small).

import { applyMask, clientHeaderSize, maskInPlace, putHeader } from "./frame.ts";

const BATCH = 16 * 1024;
const utf8 = new TextEncoder();

export class ConnWriter {
  /** Full batches and large payloads waiting, in order. */
  private queue: Uint8Array[] = [];
  private qHead = 0;
  /** The batch being filled (the tail of the queue), or null. */
  private cur: Uint8Array | null = null;
  private curLen = 0;
  /** Bytes accepted and not yet handed to the kernel. */
  queued = 0;
  private running = false;
  private failed = false;
  private idle: (() => void)[] = [];

  /** `onError` is called once when a write fails (the socket is gone). */
  constructor(private conn: Deno.Conn, private onError: (err: unknown) => void) {}

  /** Queues one masked frame carrying `payload`; masks it in place when `owned` and large. */
  frame(opcode: number, payload: Uint8Array, owned: boolean): void {
    if (this.failed) return;
    const len = payload.length;
    const hl = clientHeaderSize(len);
    if (hl + len <= BATCH) {
      const at = this.room(hl + len);
      const buf = this.cur!;
      const key = putHeader(buf, at, opcode, len);
      buf.set(payload, at + hl);
      maskInPlace(buf, at + hl, len, key);
    } else {
      this.seal();
      const head = new Uint8Array(hl);
      const key = putHeader(head, 0, opcode, len);
      const body = owned ? payload : payload.slice();
      applyMask(body, head.subarray(key, key + 4));
      this.queue.push(head, body);
      this.queued += hl + len;
    }
    this.kick();
  }

  /** Queues a text frame, encoding the string straight into the batch when it is small. */
  text(s: string): number {
    if (this.failed) return 0;
    const max = s.length * 3;
    if (max + 8 <= BATCH) {
      const hl = max < 126 ? 6 : 8;
      const at = this.room(hl + max);
      const buf = this.cur!;
      const { written } = utf8.encodeInto(s, buf.subarray(at + hl, at + hl + max));
      let h = hl;
      if (hl === 8 && written < 126) {
        // The length fits the short form: move the payload 2 bytes back (minimal encoding).
        buf.copyWithin(at + 6, at + 8, at + 8 + written);
        h = 6;
      }
      const key = putHeader(buf, at, 1, written);
      maskInPlace(buf, at + h, written, key);
      // Give back the reserve not used.
      const newLen = at + h + written;
      this.queued -= this.curLen - newLen;
      this.curLen = newLen;
      this.kick();
      return written;
    }
    const bytes = utf8.encode(s);
    this.frame(1, bytes, true);
    return bytes.length;
  }

  /** Resolves when everything queued so far has been written (or writing failed). */
  flushed(): Promise<void> {
    if ((!this.running && this.curLen === 0) || this.failed) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Reserves `n` bytes at the end of the current batch; returns their offset. */
  private room(n: number): number {
    if (this.cur === null || this.curLen + n > this.cur.length) {
      this.seal();
      this.cur = new Uint8Array(BATCH);
    }
    const at = this.curLen;
    this.curLen += n;
    this.queued += n;
    return at;
  }

  /** Moves the current batch to the queue. */
  private seal(): void {
    if (this.cur !== null && this.curLen > 0) {
      this.queue.push(this.cur.subarray(0, this.curLen));
    }
    this.cur = null;
    this.curLen = 0;
  }

  private kick(): void {
    if (this.running) return;
    // Start on a microtask: messages Deno delivers in the same turn join the first write.
    this.running = true;
    queueMicrotask(() => this.run());
  }

  private async run(): Promise<void> {
    try {
      while (true) {
        let buf: Uint8Array;
        if (this.qHead < this.queue.length) {
          buf = this.queue[this.qHead++];
        } else if (this.curLen > 0) {
          buf = this.cur!.subarray(0, this.curLen);
          this.cur = null;
          this.curLen = 0;
        } else break;
        let off = 0;
        while (off < buf.length) {
          off += await this.conn.write(off === 0 ? buf : buf.subarray(off));
        }
        this.queued -= buf.length;
        if (this.qHead === this.queue.length) {
          this.queue = [];
          this.qHead = 0;
        }
      }
    } catch (err) {
      this.failed = true;
      this.queue = [];
      this.qHead = 0;
      this.cur = null;
      this.curLen = 0;
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
