// The request body as the upstream side reads it: pulled from the client one chunk at a time
// (backpressure: the next chunk is read only after the previous one was written), with the
// first bytes kept so that a request whose pooled server connection turned out dead can be
// replayed on a fresh one. The client's inactivity timeout is the client body's own.

import type { RequestBody } from "../downstream/types.ts";

/** A request body is replayable while at most this many bytes were read from the client. */
export const REPLAY_LIMIT = 64 * 1024;

export class BodySource {
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;
  private replayAt = -1;
  /** False once more than REPLAY_LIMIT bytes went through. */
  replayable = true;
  /** The client connection failed mid-body (reset, closed early). */
  aborted = false;
  private cancelled = false;

  /** A chunk returned by read() is valid until the next read() call: write it out first. */
  constructor(private readonly source: RequestBody) {}

  /** Bytes read from the client so far. */
  get bytes(): number {
    return this.source.bytes;
  }

  /** The client sent its whole body (or reading it was given up). */
  get ended(): boolean {
    return this.cancelled || this.source.ended;
  }

  /** The client went silent for `timeout client`. */
  get timedOut(): boolean {
    return this.source.timedOut;
  }

  /** Next chunk, or null at the end of the body; throws when the client failed. */
  async read(): Promise<Uint8Array | null> {
    if (this.replayAt !== -1) {
      if (this.replayAt < this.kept.length) return this.kept[this.replayAt++];
      this.replayAt = -1;
    }
    if (this.cancelled) return null;
    let chunk: Uint8Array | null;
    try {
      chunk = await this.source.read();
    } catch (err) {
      this.aborted = true;
      throw err;
    }
    if (chunk === null) return null;
    if (this.replayable) {
      if (this.keptBytes + chunk.length <= REPLAY_LIMIT) {
        // The chunk may live in a reused buffer: keep a copy for a replay.
        this.kept.push(chunk.slice());
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
    if (this.cancelled) return;
    this.cancelled = true;
    if (!this.source.ended) this.source.cancel();
  }
}
