// The client socket: its read buffer, and the small one the read waiting for a request uses.

import { BufferedConn } from "../net/buffered.ts";
import { freeNow } from "../net/slots.ts";

export const EMPTY = new Uint8Array(0);
/** A client connection's read buffer while a request is read (grows up to 64 KB for a head). */
const CLIENT_BUFFER = 16 * 1024;
/**
 * The read that waits for a request with nothing buffered (a new connection, an idle kept-alive
 * one, the read noticing a client leaving while its request is answered) goes into a small
 * buffer of its own: an idle connection does not pin CLIENT_BUFFER bytes. What it brings is
 * copied into a CLIENT_BUFFER-sized buffer (taken from a small free list) for the parsers.
 */
const WAIT_READ = 2048;
/** Read buffers kept for reuse between requests (16 KB each, so at most 1 MB). */
const FREE_MAX = 64;
const freeBuffers: Uint8Array[] = [];

/** The client socket: a BufferedConn whose pending "wait" read may go into a small buffer. */
export class ClientSock extends BufferedConn {
  /** The buffer of the pending wait read (made once per connection). */
  private small: Uint8Array | null = null;
  /** The pending read (`idleRead`) goes into `small`, not into `buf` after `end`. */
  private smallRead = false;

  constructor(conn: Deno.TcpConn) {
    super(conn, CLIENT_BUFFER);
  }

  /**
   * Starts the read that the next fill() adopts (no read may be pending): into `small` when
   * nothing is buffered, else into the room left in `buf` (pipelined requests are waiting).
   * Null when the buffer is full of them: no more reads until some are answered.
   */
  startWaitRead(): Promise<number | null> | null {
    if (this.buffered === 0) {
      this.small ??= new Uint8Array(WAIT_READ);
      this.smallRead = true;
      return this.idleRead = this.conn.read(this.small);
    }
    if (this.end === this.buf.length) {
      if (this.start === 0) return null;
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    this.smallRead = false;
    return this.idleRead = this.conn.read(this.buf.subarray(this.end));
  }

  /** Bytes of the buffers held. */
  get heldBytes(): number {
    return this.buf.length + (this.small?.length ?? 0);
  }

  override async fill(): Promise<number> {
    const p = this.idleRead;
    if (p === null || !this.smallRead) return await super.fill();
    this.idleRead = null;
    this.smallRead = false;
    const n = await p;
    if (n === null) return 0;
    if (this.start === this.end) this.start = this.end = 0;
    if (this.buf.length === 0) this.buf = freeBuffers.pop() ?? new Uint8Array(CLIENT_BUFFER);
    if (this.buf.length - this.end < n) {
      // Only when something was buffered after the read started: make room for it.
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      if (this.buf.length - this.end < n) {
        const bigger = new Uint8Array(this.end + n + CLIENT_BUFFER);
        bigger.set(this.buf.subarray(0, this.end));
        this.buf = bigger;
      }
    }
    this.buf.set(this.small!.subarray(0, n), this.end);
    this.end += n;
    return n;
  }

  /** As BufferedConn's; `free` frees the wait-read buffer now too (a socket taken over). */
  override releaseBuffer(free = false): void {
    super.releaseBuffer(free);
    if (free && this.idleRead === null && this.small !== null) {
      freeNow(this.small);
      this.small = null;
    }
  }

  /**
   * Nothing buffered and no read pending into `buf`: lets the buffer go while the connection
   * waits. `reuse`: no view of it can be alive (it goes to the free list, else to the GC).
   */
  park(reuse: boolean): void {
    if (this.buffered !== 0 || this.buf.length === 0 || this.closed) return;
    if (this.idleRead !== null && !this.smallRead) return;
    if (reuse && this.buf.length === CLIENT_BUFFER && freeBuffers.length < FREE_MAX) {
      freeBuffers.push(this.buf);
    }
    this.buf = EMPTY;
    this.start = this.end = 0;
  }
}
