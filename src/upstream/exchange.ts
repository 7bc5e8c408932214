// One request/response exchange on one server connection: head out, body streamed out
// (Content-Length as is, or re-framed as chunked), response head in (1xx skipped), then the
// response body relayed to the client. `timeout server` is an inactivity timeout on the server
// side: it runs while we wait for the server, never while we wait for the client.

import type { UpstreamConn } from "./conn.ts";
import { errorText, UpstreamError } from "./errors.ts";
import { BodyReader } from "./body.ts";
import { readResponseHead, type ResponseHead } from "./response.ts";
import type { BodySource } from "./upload.ts";
import { Watchdog } from "../net/watchdog.ts";

const encoder = new TextEncoder();

/** Where a response body goes (the client exchange). */
export interface BodySink {
  write(chunk: Uint8Array): Promise<void>;
}
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

export interface ExchangeRequest {
  method: string;
  head: Uint8Array;
  body: BodySource | null;
  /** Re-frame the body as chunked (the client sent it chunked, or its length is unknown). */
  chunked: boolean;
  /** Interim (1xx) answers of the server, e.g. 103 Early Hints, for the client. */
  onInterim?: (head: ResponseHead) => void;
}

/** Why a response body ended. */
export type BodyEnd =
  | "done"
  | "client-abort"
  | "client-timeout"
  | "server-abort"
  | "server-timeout";

export interface BodyResult {
  end: BodyEnd;
  /** Payload bytes passed to the client. */
  bytes: number;
  /** Trailer lines of a chunked body. */
  trailers: [string, string][];
}

export class Exchange {
  /** The connection's `timeout server` watchdog (one per connection, armed per exchange). */
  private readonly serverWd: Watchdog;
  /** The client failed (timeout or abort) while sending its body. */
  clientFailure: "timeout" | "abort" | "malformed" | null = null;
  private uploading: Promise<void> | null = null;
  private detached = false;
  uploadComplete = false;
  private aborted = false;
  head: ResponseHead | null = null;

  constructor(
    readonly uc: UpstreamConn,
    readonly req: ExchangeRequest,
    private readonly serverTimeoutMs: number | null,
  ) {
    this.serverWd = uc.serverDog ??= new Watchdog(null, () => {
      uc.serverTimedOut = true;
      uc.close();
    });
  }

  private get serverTimedOut(): boolean {
    return this.uc.serverTimedOut;
  }

  /**
   * Sends the request and returns the final response head. Throws UpstreamError. `now` is the
   * caller's performance.now() (one clock read less per request).
   */
  async send(now = performance.now()): Promise<ResponseHead> {
    const { uc, req } = this;
    this.serverWd.arm(this.serverTimeoutMs, now);
    try {
      try {
        // Usually written whole by the first write: one async layer less than writeAll().
        const n = await uc.conn.write(req.head);
        if (n < req.head.length) await uc.writeAll(req.head.subarray(n));
      } catch (err) {
        throw this.fail(uc.reused ? "stale-reused" : "reset-before-send", err);
      }
      this.serverWd.touch();
      if (req.body) {
        this.uploading = this.upload(req.body);
      } else this.uploadComplete = true;
      try {
        this.head = await readResponseHead(uc, req.method, undefined, req.onInterim);
      } catch (err) {
        if (this.serverTimedOut) throw new UpstreamError("server-timeout", "server timeout");
        if (err instanceof UpstreamError && !this.aborted) throw err;
        throw this.fail("closed-after-send", err);
      }
      return this.head;
    } finally {
      this.serverWd.disarm();
    }
  }

  private fail(kind: UpstreamError["kind"], err: unknown): UpstreamError {
    if (this.serverTimedOut) return new UpstreamError("server-timeout", "server timeout");
    return err instanceof UpstreamError
      ? err
      : new UpstreamError(kind, errorText(err), { cause: err });
  }

  private async upload(body: BodySource): Promise<void> {
    const { uc, req } = this;
    uc.setNoDelay(); // the body's writes follow the head's
    for (;;) {
      // Waiting for the client is not the server's fault: pause the server timeout meanwhile.
      const armed = this.serverWd.armed;
      if (armed) this.serverWd.disarm();
      let chunk: Uint8Array | null;
      try {
        chunk = await body.read();
      } catch (err) {
        // A body that breaks its own framing is the client's protocol error (400), not an abort.
        this.clientFailure = body.timedOut
          ? "timeout"
          : (err as { kind?: string })?.kind === "malformed"
          ? "malformed"
          : "abort";
        this.abort();
        return;
      } finally {
        if (armed && !this.head) this.serverWd.arm(this.serverTimeoutMs);
      }
      try {
        if (chunk === null) {
          if (req.chunked) await uc.writeAll(LAST_CHUNK);
          this.uploadComplete = true;
          return;
        }
        if (chunk.length === 0) continue;
        if (req.chunked) {
          const size = encoder.encode(chunk.length.toString(16) + "\r\n");
          if (chunk.length <= 16384) {
            const framed = new Uint8Array(size.length + chunk.length + 2);
            framed.set(size);
            framed.set(chunk, size.length);
            framed.set(CRLF, size.length + chunk.length);
            await uc.writeAll(framed);
          } else {
            await uc.writeAll(size);
            await uc.writeAll(chunk);
            await uc.writeAll(CRLF);
          }
        } else await uc.writeAll(chunk);
        this.serverWd.touch();
      } catch {
        // The server closed while we were sending: the response read reports it (or the server
        // already answered, e.g. 413, and that answer is still delivered). A detached upload
        // leaves the client's body alone: a retry replays it.
        if (!this.detached) body.cancel();
        return;
      }
      if (this.detached) return;
    }
  }

  /**
   * Before a retry replays the body on another connection: stops this exchange's upload without
   * cancelling the client's body, and waits until it no longer reads from it (what it read is in
   * the body's replay buffer, or the body is no longer replayable).
   */
  async detachUpload(): Promise<void> {
    this.detached = true;
    this.uc.close();
    await this.uploading;
  }

  /** Closes the server connection (client gone, shutdown). */
  abort(): void {
    this.aborted = true;
    this.serverWd.disarm();
    this.uc.close();
  }

  /**
   * Relays the response body to the client (`sink`, e.g. the client exchange): one chunk at a
   * time, the next read only once the client took the previous one (backpressure). `timeout
   * server` runs while waiting for the server; the client's inactivity timeout is the sink's
   * (its write rejects with an error named "ClientTimeout"). Never throws.
   */
  async relayBody(sink: BodySink): Promise<BodyResult & { reusable: boolean }> {
    const head = this.head!;
    const reader = new BodyReader(this.uc, head);
    let end: BodyEnd = "done";
    if (head.bodyMode !== "none") {
      for (;;) {
        this.serverWd.arm(this.serverTimeoutMs);
        let chunk: Uint8Array | null;
        try {
          chunk = await reader.next();
        } catch {
          end = this.serverTimedOut ? "server-timeout" : "server-abort";
          this.uc.close();
          break;
        } finally {
          this.serverWd.disarm();
        }
        if (chunk === null) break;
        try {
          await sink.write(chunk);
        } catch (err) {
          end = (err as Error)?.name === "ClientTimeout" ? "client-timeout" : "client-abort";
          this.abort();
          break;
        }
      }
    }
    const reusable = end === "done" && reader.complete && head.keepAlive &&
      this.uploadComplete && !this.aborted;
    return { end, bytes: reader.bytes, trailers: reader.trailers, reusable };
  }

  /**
   * Fast path for small answers: when the whole Content-Length body is already buffered, takes
   * it (no stream needed), else null. The body is a view into the connection's read buffer,
   * valid until the connection is used again (pooled, read, closed): the caller copies it
   * before it releases the connection. `reusable()` then tells whether the connection may go
   * back to the pool.
   */
  takeBufferedBody(): Uint8Array | null {
    const head = this.head!;
    const uc = this.uc;
    const n = head.length;
    if (head.bodyMode !== "length" || uc.buffered < n) return null;
    const body = uc.buf.subarray(uc.start, uc.start + n);
    uc.start += n;
    return body;
  }

  /** After takeBufferedBody(): the exchange ended cleanly and the server keeps the connection. */
  reusable(): boolean {
    return this.head!.keepAlive && this.uploadComplete && !this.aborted;
  }

  /** Waits for the request body upload to settle (tests, logging). */
  async uploadSettled(): Promise<void> {
    if (this.uploading) await this.uploading;
  }
}
