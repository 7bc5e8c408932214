// Response body readers: by Content-Length, chunked (trailers parsed and kept), or until close.
// Each next() returns one chunk of payload bytes (de-chunked) or null at the end; the caller
// (a pull-based ReadableStream) asks for the next chunk only when the client took the previous
// one, which is the backpressure towards the server.

import type { UpstreamConn } from "./conn.ts";
import { UpstreamError } from "./errors.ts";
import type { ResponseHead } from "./response.ts";
import { latin1 } from "./response.ts";

/** Most trailer lines accepted after a chunked body. */
const MAX_TRAILERS = 128;

/** Largest chunk read straight from the socket (bypassing the shared buffer). */
const DIRECT_READ = 64 * 1024;
const MAX_CHUNK_LINE = 4096;

export class BodyReader {
  /** Bytes of payload still expected (length mode) or in the current chunk (chunked mode). */
  private remaining: number;
  private state: "data" | "size" | "crlf" | "trailers" | "done";
  /** Trailer lines of a chunked body (relayed to the client after the last chunk). */
  trailers: [string, string][] = [];
  /** Payload bytes returned so far. */
  bytes = 0;
  /** True when the body ended as its framing says (the connection may be reused). */
  complete = false;
  /** The array direct reads go into (made at the first one). */
  private own: Uint8Array | null = null;

  constructor(private readonly uc: UpstreamConn, readonly head: ResponseHead) {
    this.remaining = head.bodyMode === "length" ? head.length : 0;
    this.state = head.bodyMode === "chunked" ? "size" : "data";
    if (head.bodyMode === "none") {
      this.state = "done";
      this.complete = true;
    }
  }

  /**
   * Next payload chunk (valid until the next call), or null at the end. Throws
   * UpstreamError("body-truncated") on EOF.
   */
  async next(): Promise<Uint8Array | null> {
    const mode = this.head.bodyMode;
    if (this.state === "done") return null;
    if (mode === "length") {
      if (this.remaining === 0) return this.finish();
      const chunk = await this.take(this.remaining, true);
      this.remaining -= chunk.length;
      this.bytes += chunk.length;
      if (this.remaining === 0) this.complete = true;
      return chunk;
    }
    if (mode === "close") {
      const chunk = await this.take(DIRECT_READ, false);
      if (chunk.length === 0) {
        this.complete = true;
        return this.finish();
      }
      this.bytes += chunk.length;
      return chunk;
    }
    // chunked
    for (;;) {
      switch (this.state) {
        case "size": {
          const line = await this.line();
          const semi = line.indexOf(";");
          const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) {
            throw new UpstreamError("body-truncated", "invalid chunk size");
          }
          const size = parseInt(hex, 16);
          if (size === 0) {
            this.state = "trailers";
            continue;
          }
          this.remaining = size;
          this.state = "data";
          continue;
        }
        case "data": {
          const chunk = await this.take(this.remaining, true);
          this.remaining -= chunk.length;
          this.bytes += chunk.length;
          if (this.remaining === 0) this.state = "crlf";
          return chunk;
        }
        case "crlf": {
          const line = await this.line();
          if (line !== "") throw new UpstreamError("body-truncated", "missing CRLF after chunk");
          this.state = "size";
          continue;
        }
        case "trailers": {
          const line = await this.line();
          if (line === "") {
            this.complete = true;
            return this.finish();
          }
          // Bounded like a head (128 lines): a server cannot stream trailers for ever.
          if (this.trailers.length >= MAX_TRAILERS) {
            throw new UpstreamError("body-truncated", `more than ${MAX_TRAILERS} trailer lines`);
          }
          const colon = line.indexOf(":");
          if (colon > 0) this.trailers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
          continue;
        }
        default:
          return null;
      }
    }
  }

  private finish(): null {
    this.state = "done";
    return null;
  }

  /**
   * Up to `max` bytes: from the buffer (copied: the connection's buffer is recycled when it
   * closes, possibly while the chunk is still being written) when it holds some, else read
   * straight into this reader's own array, reused for every direct read: a chunk is valid until
   * the next call (the caller writes it before asking again). A fresh array per read was the
   * garbage of a large download: 64 KB of external memory per read, freed only at the next GC.
   * Returns an empty array at EOF when `required` is false.
   */
  private async take(max: number, required: boolean): Promise<Uint8Array> {
    const uc = this.uc;
    if (uc.buffered > 0) {
      const n = Math.min(max, uc.buffered);
      const out = uc.buf.slice(uc.start, uc.start + n);
      uc.start += n;
      return out;
    }
    const own = this.own ??= new Uint8Array(DIRECT_READ);
    const chunk = max < DIRECT_READ ? own.subarray(0, max) : own;
    let n: number | null;
    try {
      n = await uc.conn.read(chunk);
    } catch (err) {
      throw new UpstreamError("body-truncated", `server connection error: ${err}`, { cause: err });
    }
    if (n === null) {
      if (required) throw new UpstreamError("body-truncated", "server closed mid-body");
      return chunk.subarray(0, 0);
    }
    return n === chunk.length ? chunk : chunk.subarray(0, n);
  }

  /** One line (without CR LF) from the buffer, reading more as needed. */
  private async line(): Promise<string> {
    const uc = this.uc;
    let scan = uc.start;
    for (;;) {
      const lf = uc.buf.subarray(scan, uc.end).indexOf(10);
      if (lf !== -1) {
        const at = scan + lf;
        const end = at > uc.start && uc.buf[at - 1] === 13 ? at - 1 : at;
        const text = latin1(uc.buf, uc.start, end);
        uc.start = at + 1;
        return text;
      }
      if (uc.end - uc.start > MAX_CHUNK_LINE) {
        throw new UpstreamError("body-truncated", "chunk line too long");
      }
      const before = uc.start;
      scan = uc.end;
      let n: number;
      try {
        n = await uc.fill();
      } catch (err) {
        throw new UpstreamError("body-truncated", `server connection error: ${err}`, {
          cause: err,
        });
      }
      scan -= before - uc.start;
      if (n === 0) throw new UpstreamError("body-truncated", "server closed mid-body");
    }
  }
}
