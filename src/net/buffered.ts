// A socket with a read buffer that parsers and body readers share, and write-all. Both sides use
// it: the client connections of downstream/ (its ClientSock) and the server connections of
// upstream/ (UpstreamConn, which adds the keep-alive pool's fields). A parked connection keeps
// one read pending (into its own buffer): the next fill() adopts that read, and if it settles
// while parked the peer closed the connection (or misbehaved).
//
// Read buffers are recycled: a connection takes one from a small free list when it first reads
// and gives it back when it closes with no read pending (server-close mode opens a connection per
// request; allocating 64 KB each time was most of its garbage and RSS). Nothing outside this file
// keeps a view of the buffer: the parser and the body readers copy what they hand out. The buffer
// is 64 KB so that an answer of up to about 64 KB usually arrives whole with its head and is
// written to the client in one write with its head.

import { freeNow } from "./slots.ts";

/** Largest head (or chunk-size line run) accepted in the buffer. */
export const READ_BUFFER = 64 * 1024;
/** A read buffer starts this large (and would double up to READ_BUFFER for a longer head). */
export const INITIAL_BUFFER = 64 * 1024;
/** Free read buffers kept for reuse (64 KB each, so at most 4 MB). */
const FREE_MAX = 64;
const freeBuffers: Uint8Array[] = [];
const EMPTY = new Uint8Array(0);

export class BufferedConn {
  /** The read buffer (empty until the first read; bytes [start, end) are unconsumed). */
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  closed = false;
  /** The read a parked connection keeps pending (adopted by the next fill()). */
  idleRead: Promise<number | null> | null = null;
  /** A read into `buf` is in flight (the buffer must not be recycled meanwhile). */
  private reading = false;

  constructor(
    readonly conn: Deno.TcpConn,
    /** Size of the first read buffer (client connections start smaller). */
    private readonly firstSize = INITIAL_BUFFER,
  ) {}

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** What fill() throws when READ_BUFFER bytes are buffered and unconsumed. */
  protected tooLong(): Error {
    return new Error("head or line too long");
  }

  /**
   * Reads more bytes into the buffer; returns how many (0 = EOF). Throws on a socket error, or
   * tooLong() when READ_BUFFER bytes are buffered and unconsumed.
   */
  async fill(): Promise<number> {
    let p = this.idleRead;
    if (p) this.idleRead = null;
    else {
      if (this.start === this.end) {
        this.start = 0;
        this.end = 0;
        if (this.buf.length === 0) this.buf = this.newBuffer();
      } else if (this.end === this.buf.length) {
        if (this.start > 0) {
          this.buf.copyWithin(0, this.start, this.end);
          this.end -= this.start;
          this.start = 0;
        } else if (this.buf.length < READ_BUFFER) {
          const bigger = new Uint8Array(Math.min(READ_BUFFER, this.buf.length * 2));
          bigger.set(this.buf.subarray(0, this.end));
          giveBack(this.buf);
          this.buf = bigger;
        } else {
          throw this.tooLong();
        }
      }
      this.reading = true;
      p = this.conn.read(this.buf.subarray(this.end));
    }
    let n: number | null;
    try {
      n = await p;
    } finally {
      this.reading = false;
    }
    if (n === null) return 0;
    this.end += n;
    return n;
  }

  /** Writes every byte (conn.write may write only part of a buffer). */
  async writeAll(bytes: Uint8Array): Promise<void> {
    let off = await this.conn.write(bytes);
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Parks the connection: keeps one read pending to notice a close by the peer. */
  startIdleRead(): Promise<number | null> {
    this.start = 0;
    this.end = 0;
    if (this.buf.length === 0) this.buf = this.newBuffer();
    this.reading = true;
    this.idleRead = this.conn.read(this.buf);
    return this.idleRead;
  }

  private newBuffer(): Uint8Array {
    if (this.firstSize !== INITIAL_BUFFER) return new Uint8Array(this.firstSize);
    return freeBuffers.pop() ?? new Uint8Array(INITIAL_BUFFER);
  }

  /**
   * Gives the buffer back while the socket lives on elsewhere (no read may be pending).
   * `free`: nothing views it any more, so unless it goes back to the pool its memory is freed
   * now (see freeNow()), not at the next GC.
   */
  releaseBuffer(free = false): void {
    if (this.reading || this.idleRead !== null) return;
    this.recycle(free);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    // A pending read may still write into the buffer until it settles: only recycle when none.
    if (!this.reading && this.idleRead === null) this.recycle();
  }

  private recycle(free = false): void {
    // Only server-side buffers go back to the pool: a client buffer may still be viewed by a
    // request body chunk on its way to a server.
    if (!(this.firstSize === INITIAL_BUFFER && giveBack(this.buf)) && free) freeNow(this.buf);
    this.buf = EMPTY;
    this.start = 0;
    this.end = 0;
  }
}

/** True when the pool took it. */
function giveBack(b: Uint8Array): boolean {
  if (b.length !== INITIAL_BUFFER || freeBuffers.length >= FREE_MAX) return false;
  freeBuffers.push(b);
  return true;
}
