// The request body as the upstream side reads it: pulled from the client's stream one chunk at a
// time (backpressure: the next chunk is read only after the previous one was written), with the
// client inactivity timeout, and with the first bytes kept so that a request whose pooled server
// connection turned out dead can be replayed on a fresh one.
//
// Deno.serve's request body is a byte stream: it is read with a BYOB reader into one buffer per
// request, reused for every chunk (the caller writes a chunk out completely before asking for the
// next one). Deno's default reader would allocate a fresh 64 KB buffer per chunk, and a 100 MB
// upload then left some 60 MB of garbage behind before the GC caught up.

import { Watchdog } from "./watchdog.ts";

/** A request body is replayable while at most this many bytes were read from the client. */
export const REPLAY_LIMIT = 64 * 1024;
/** Size of the per-request read buffer (smaller when Content-Length says the body is smaller). */
export const UPLOAD_BUFFER = 64 * 1024;

export class BodySource {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader;
  /** The reused buffer of a BYOB reader (null: default reader, chunks are fresh). */
  private byob: Uint8Array<ArrayBuffer> | null = null;
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;
  private replayAt = -1;
  /** False once more than REPLAY_LIMIT bytes went through. */
  replayable = true;
  /** Bytes read from the client so far. */
  bytes = 0;
  /** The client sent its whole body. */
  ended = false;
  /** The client went silent for `timeout client` (the stream was cancelled). */
  timedOut = false;
  /** The client connection failed mid-body (reset, closed early). */
  aborted = false;
  private readonly watchdog: Watchdog;

  /**
   * `length` is the request's Content-Length when known (sizes the reused buffer). A chunk
   * returned by read() is valid until the next read() call: write it out before asking again.
   */
  constructor(
    stream: ReadableStream<Uint8Array>,
    clientTimeoutMs: number | null,
    length: number | null = null,
  ) {
    let reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader;
    try {
      reader = stream.getReader({ mode: "byob" });
      // Sized by Content-Length when smaller (a BYOB read needs room for at least one byte).
      const size = length !== null && length >= 0 && length < UPLOAD_BUFFER
        ? Math.max(1, length)
        : UPLOAD_BUFFER;
      this.byob = new Uint8Array(size);
    } catch {
      reader = stream.getReader(); // not a byte stream
    }
    this.reader = reader;
    this.watchdog = new Watchdog(clientTimeoutMs, () => {
      this.timedOut = true;
      this.reader.cancel("client timeout").catch(() => {});
    });
  }

  /** Next chunk, or null at the end of the body; throws when the client failed. */
  async read(): Promise<Uint8Array | null> {
    if (this.replayAt !== -1) {
      if (this.replayAt < this.kept.length) return this.kept[this.replayAt++];
      this.replayAt = -1;
    }
    if (this.ended) return null;
    this.watchdog.arm();
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      if (this.byob !== null) {
        r = await (this.reader as ReadableStreamBYOBReader).read(this.byob);
        // The read transferred the buffer: keep its new home for the next read.
        if (r.value) this.byob = new Uint8Array(r.value.buffer as ArrayBuffer);
      } else r = await (this.reader as ReadableStreamDefaultReader<Uint8Array>).read();
    } catch (err) {
      this.aborted = true;
      throw err;
    } finally {
      this.watchdog.disarm();
    }
    if (this.timedOut) throw new Error("client timeout");
    if (r.done) {
      this.ended = true;
      return null;
    }
    const chunk = r.value;
    this.bytes += chunk.length;
    if (this.replayable) {
      if (this.keptBytes + chunk.length <= REPLAY_LIMIT) {
        // A BYOB chunk lives in the reused buffer: keep a copy for a replay.
        this.kept.push(this.byob !== null ? chunk.slice() : chunk);
        this.keptBytes += chunk.length;
      } else {
        this.replayable = false;
        this.kept.length = 0;
      }
    }
    return chunk;
  }

  /** Starts again from the first byte; false when the body is no longer replayable. */
  rewind(): boolean {
    if (!this.replayable) return false;
    this.replayAt = 0;
    return true;
  }

  /** Stops reading from the client (on error paths). */
  cancel(): void {
    this.watchdog.disarm();
    if (!this.ended) this.reader.cancel().catch(() => {});
    this.ended = true;
  }
}
