// The request body as our client-side server reads it from the client socket: by Content-Length
// or de-chunked, never past the end of the body (a pipelined next request waits in the same
// buffer), with `timeout client` as an inactivity limit and the 100 Continue interim answer.
//
// Bytes already buffered are handed out as views into the connection's buffer; the rest is read
// straight from the socket into one buffer the reader owns and reuses, so a 100 MB upload costs
// one 64 KB buffer, not 100 MB of garbage. A chunk is valid until the next read().

import type { BufferedConn } from "../net/buffered.ts";
import { Watchdog } from "../net/watchdog.ts";
import type { RequestHead } from "./head.ts";
import type { RequestBody } from "./types.ts";

/** Largest read straight from the socket (the size of the reader's own buffer). */
export const DIRECT_READ = 64 * 1024;
/** Longest chunk-size line (extensions included). */
export const MAX_CHUNK_LINE = 4096;
/** Longest trailer line, and most trailer lines, after a chunked body. */
export const MAX_TRAILER_LINE = 8192;
export const MAX_TRAILERS = 128;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** Hex digit values by byte (255: not a hex digit). */
const HEX = new Uint8Array(256).fill(255);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c;

/**
 * Why a request body could not be read: "malformed" (bad chunked framing: the client deserves a
 * 400 if no response was sent yet), "closed" (the client closed or reset the connection before
 * the end), "timeout" (`timeout client` passed), "cancelled" (read() after cancel()).
 */
export class RequestBodyError extends Error {
  constructor(
    readonly kind: "malformed" | "closed" | "timeout" | "cancelled",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "RequestBodyError";
  }
}

export class RequestBodyReader implements RequestBody {
  /** Payload bytes returned so far. */
  bytes = 0;
  /** The whole body was read (its last byte returned; chunked: the last chunk and trailers). */
  ended = false;
  /** The client stayed silent for `timeout client` while sending the body. */
  timedOut = false;
  /** The body was read to its end as framed (the connection may serve another request). */
  complete = false;
  /** "HTTP/1.1 100 Continue" was written to the client. */
  continueSent = false;
  private readonly chunked: boolean;
  /** Bytes left: of the body (length) or of the current chunk (chunked). */
  private remaining: number;
  private state: "size" | "data" | "crlf" | "trailers" | "done";
  private first = true;
  private cancelled = false;
  private failure: RequestBodyError | null = null;
  /** The reused buffer for reads straight from the socket (made on the first such read). */
  private own: Uint8Array | null = null;
  private readonly watchdog: Watchdog;
  /** Rejects the read in progress when the watchdog fires. */
  private onTimeout: (() => void) | null = null;

  constructor(
    private readonly sock: BufferedConn,
    private readonly head: RequestHead,
    clientTimeoutMs: number | null,
  ) {
    this.chunked = head.bodyKind === "chunked";
    this.remaining = head.bodyKind === "length" ? head.contentLength : 0;
    this.state = this.chunked ? "size" : "data";
    if (head.bodyKind === "none" || (!this.chunked && this.remaining <= 0)) this.finish();
    // On timeout the pending read is abandoned, not the socket: the proxy still answers 408.
    this.watchdog = new Watchdog(clientTimeoutMs, () => {
      this.timedOut = true;
      this.onTimeout?.();
    });
  }

  /** Next chunk of payload (a view valid until the next read()), or null at the end. */
  async read(): Promise<Uint8Array | null> {
    if (this.failure !== null) throw this.failure;
    if (this.cancelled) throw new RequestBodyError("cancelled", "request body reading cancelled");
    if (this.state === "done") return null;
    try {
      if (this.first) {
        this.first = false;
        if (this.head.expectContinue && this.sock.buffered === 0) {
          this.continueSent = true;
          await this.sock.writeAll(CONTINUE);
        }
      }
      return this.chunked ? await this.nextChunked() : await this.nextLength();
    } catch (err) {
      this.failure = this.toFailure(err);
      throw this.failure;
    }
  }

  /** Stops reading (the caller closes the connection unless the body was complete). */
  cancel(): void {
    this.cancelled = true;
    this.watchdog.disarm();
  }

  private finish(): null {
    this.state = "done";
    this.ended = true;
    this.complete = true;
    return null;
  }

  private async nextLength(): Promise<Uint8Array> {
    const chunk = await this.take(this.remaining);
    this.remaining -= chunk.length;
    this.bytes += chunk.length;
    if (this.remaining === 0) this.finish();
    return chunk;
  }

  private async nextChunked(): Promise<Uint8Array | null> {
    const s = this.sock;
    for (;;) {
      switch (this.state) {
        case "size": {
          const lf = await this.line(MAX_CHUNK_LINE, "chunk-size line");
          const size = parseChunkSize(
            s.buf,
            s.start,
            lf > s.start && s.buf[lf - 1] === 13 ? lf - 1 : lf,
          );
          s.start = lf + 1;
          if (size === 0) this.state = "trailers";
          else {
            this.remaining = size;
            this.state = "data";
          }
          continue;
        }
        case "data": {
          const chunk = await this.take(this.remaining);
          this.remaining -= chunk.length;
          this.bytes += chunk.length;
          if (this.remaining === 0) this.state = "crlf";
          return chunk;
        }
        case "crlf": {
          while (s.buffered === 0 || (s.buffered === 1 && s.buf[s.start] === 13)) {
            await this.more();
          }
          if (s.buf[s.start] === 10) s.start += 1;
          else if (s.buf[s.start] === 13 && s.buf[s.start + 1] === 10) s.start += 2;
          else throw malformed("chunk data not followed by CRLF");
          this.state = "size";
          continue;
        }
        case "trailers": {
          for (let n = 0;; n++) {
            const lf = await this.line(MAX_TRAILER_LINE, "trailer line");
            const empty = lf === s.start || (lf === s.start + 1 && s.buf[s.start] === 13);
            s.start = lf + 1;
            if (empty) return this.finish();
            if (n === MAX_TRAILERS) throw malformed(`more than ${MAX_TRAILERS} trailer lines`);
          }
        }
        default:
          return null;
      }
    }
  }

  /**
   * Up to `max` (> 0) payload bytes: a view of the buffered ones, else one read from the socket
   * into the reader's own buffer (at most `max` bytes: nothing past the body is consumed).
   */
  private async take(max: number): Promise<Uint8Array> {
    const s = this.sock;
    // A read left pending on the socket (Connection.watch() while a previous, pipelined request
    // was answered) gets the next bytes first: a read of our own would run behind it and take
    // later bytes as earlier ones. Adopt it through fill() instead.
    if (s.buffered === 0 && s.idleRead !== null) await this.more();
    if (s.buffered > 0) {
      const n = Math.min(max, s.buffered);
      const view = s.buf.subarray(s.start, s.start + n);
      s.start += n;
      return view;
    }
    const want = Math.min(max, DIRECT_READ);
    let own = this.own;
    if (own === null || (own.length < want && own.length < DIRECT_READ)) {
      // Length: sized by the body; chunked: chunk sizes vary, so not too small from the start.
      own = this.own = new Uint8Array(
        this.chunked ? Math.min(DIRECT_READ, Math.max(want, 16384)) : want,
      );
    }
    const n = await this.wait(s.conn.read(own.length > want ? own.subarray(0, want) : own));
    if (n === null) throw this.closed();
    return own.subarray(0, n);
  }

  /** Index of the LF ending the line at sock.start, reading more as needed. */
  private async line(max: number, what: string): Promise<number> {
    const s = this.sock;
    let scan = s.start;
    for (;;) {
      const buf = s.buf;
      const end = s.end;
      for (let i = scan; i < end; i++) {
        if (buf[i] === 10) {
          if (i - s.start > max) break;
          return i;
        }
      }
      if (s.end - s.start > max) throw malformed(`${what} longer than ${max} bytes`);
      const before = s.start;
      scan = s.end;
      await this.more();
      scan -= before - s.start; // fill() may have moved the bytes
    }
  }

  /** Reads more bytes into the connection's buffer (EOF is an error: the body is not over). */
  private async more(): Promise<void> {
    if ((await this.wait(this.sock.fill())) === 0) throw this.closed();
  }

  /** Awaits a socket read under the `timeout client` watchdog. */
  private async wait<T>(p: Promise<T>): Promise<T> {
    this.watchdog.arm();
    let r: T;
    try {
      if (this.watchdog.armed) {
        const expired = new Promise<never>((_, reject) => {
          this.onTimeout = () => reject(this.timeoutError());
        });
        p.catch(() => {}); // abandoned on timeout: settles when the connection closes
        r = await Promise.race([p, expired]);
      } else r = await p;
    } catch (err) {
      this.watchdog.disarm();
      throw this.timedOut ? this.timeoutError() : err;
    }
    this.watchdog.disarm();
    this.onTimeout = null;
    // A read the watchdog abandoned may also settle as EOF: report the timeout.
    if (this.timedOut) throw this.timeoutError();
    return r;
  }

  private timeoutError(): RequestBodyError {
    return new RequestBodyError(
      "timeout",
      `client timeout: no request body data for ${this.watchdog.timeoutMs} ms`,
    );
  }

  private closed(): RequestBodyError {
    const of = this.chunked ? "" : ` of ${this.head.contentLength}`;
    return new RequestBodyError(
      "closed",
      `client closed the connection mid-body (${this.bytes}${of} bytes received)`,
    );
  }

  private toFailure(err: unknown): RequestBodyError {
    if (this.timedOut) return this.timeoutError();
    if (err instanceof RequestBodyError) return err;
    const text = err instanceof Error ? err.message : String(err);
    return new RequestBodyError("closed", `client connection error mid-body: ${text}`, {
      cause: err,
    });
  }
}

function malformed(message: string): RequestBodyError {
  return new RequestBodyError("malformed", message);
}

/**
 * Checks the chunked framing of the body bytes already received, buf[from, to), by the rules
 * RequestBodyReader applies (chunk-size lines, the CRLF after each chunk's data, trailer lines):
 * the reason it is malformed, or null when it is fine so far (possibly incomplete). Cheap: it
 * reads the size and trailer lines only and steps over the data.
 */
export function checkChunks(buf: Uint8Array, from: number, to: number): string | null {
  let p = from;
  let trailers = -1; // -1: in the chunks; n >= 0: n trailer lines seen
  try {
    for (;;) {
      // A size line or a trailer line.
      const max = trailers < 0 ? MAX_CHUNK_LINE : MAX_TRAILER_LINE;
      const stop = Math.min(to, p + max + 1);
      let lf = p;
      while (lf < stop && buf[lf] !== 10) lf++;
      if (lf === stop) {
        if (stop - p > max) {
          return `${trailers < 0 ? "chunk-size line" : "trailer line"} longer than ${max} bytes`;
        }
        return null;
      }
      const eol = lf > p && buf[lf - 1] === 13 ? lf - 1 : lf;
      if (trailers >= 0) {
        if (eol === p) return null; // the end of the body
        if (trailers++ === MAX_TRAILERS) return `more than ${MAX_TRAILERS} trailer lines`;
        p = lf + 1;
        continue;
      }
      const size = parseChunkSize(buf, p, eol);
      p = lf + 1;
      if (size === 0) {
        trailers = 0;
        continue;
      }
      if (size >= to - p) return null; // the data, then its CRLF, are not all here yet
      p += size;
      if (buf[p] === 10) p += 1;
      else if (buf[p] === 13 && p + 1 === to) return null;
      else if (buf[p] === 13 && buf[p + 1] === 10) p += 2;
      else return "chunk data not followed by CRLF";
    }
  } catch (err) {
    if (err instanceof RequestBodyError) return err.message;
    throw err;
  }
}

/**
 * A chunk-size line buf[from, to) (CR LF removed): 1 to 15 hex digits (a value below 2^53), then
 * optional whitespace and extensions after ";" (ignored, but no control characters).
 */
function parseChunkSize(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  let size = 0;
  while (i < to && HEX[buf[i]] !== 255) size = size * 16 + HEX[buf[i++]];
  if (i === from) throw malformed("invalid chunk size: no hex digits");
  if (i - from > 15) throw malformed("invalid chunk size: more than 15 hex digits");
  // Beyond 2^53 the count would lose precision (HAProxy caps chunk sizes lower still).
  if (size > Number.MAX_SAFE_INTEGER) throw malformed("invalid chunk size: too large");
  while (i < to && (buf[i] === 32 || buf[i] === 9)) i++;
  if (i < to && buf[i] !== 59) { // ";"
    throw malformed(`invalid character 0x${buf[i].toString(16).padStart(2, "0")} in chunk size`);
  }
  for (; i < to; i++) {
    const c = buf[i];
    if ((c < 32 && c !== 9) || c === 127) {
      throw malformed(`invalid character 0x${c.toString(16).padStart(2, "0")} in chunk extension`);
    }
  }
  return size;
}
