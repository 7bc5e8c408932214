// The request body as the upstream side reads it: pulled from the client's stream one chunk at a
// time (backpressure: the next chunk is read only after the previous one was written), with the
// client inactivity timeout, and with the first bytes kept so that a request whose pooled server
// connection turned out dead can be replayed on a fresh one.

import { Watchdog } from "./watchdog.ts";

/** A request body is replayable while at most this many bytes were read from the client. */
export const REPLAY_LIMIT = 64 * 1024;

export class BodySource {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
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

  constructor(stream: ReadableStream<Uint8Array>, clientTimeoutMs: number | null) {
    this.reader = stream.getReader();
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
      r = await this.reader.read();
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
        this.kept.push(chunk);
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
