// One TCP connection to a server: connect with a timeout, write-all, and a read buffer that the
// response parser and the body readers share. A connection parked in the keep-alive pool keeps
// one read pending (into its own buffer): the next request adopts that read, and if it settles
// while parked the server closed the connection (or misbehaved) and the pool drops it at once.

import { classifyConnectError, errorText, UpstreamError } from "./errors.ts";

/** Read buffer size; also the largest response head accepted (502 beyond it). */
export const READ_BUFFER = 64 * 1024;

export interface ServerAddress {
  hostname: string;
  port: number;
}

/** How a connection is opened; tests may replace it (e.g. to simulate a black-holed server). */
export type Connector = (addr: ServerAddress, signal: AbortSignal) => Promise<Deno.TcpConn>;

export const defaultConnector: Connector = (addr, signal) =>
  Deno.connect({ hostname: addr.hostname, port: addr.port, signal });

/** Connects with `timeout connect`; throws UpstreamError("connect-*"). */
export async function connectWithTimeout(
  addr: ServerAddress,
  timeoutMs: number | null,
  connector: Connector = defaultConnector,
  abort?: AbortSignal,
): Promise<Deno.TcpConn> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = timeoutMs && timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs)
    : undefined;
  const onAbort = () => ac.abort();
  abort?.addEventListener("abort", onAbort, { once: true });
  try {
    const conn = await connector(addr, ac.signal);
    if (ac.signal.aborted) {
      try {
        conn.close();
      } catch { /* already closed */ }
      throw new DOMException("aborted", "AbortError");
    }
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    return conn;
  } catch (err) {
    if (timedOut) {
      throw new UpstreamError("connect-timeout", `connect timeout after ${timeoutMs} ms`);
    }
    if (abort?.aborted) throw new UpstreamError("connect-error", "aborted by client");
    throw new UpstreamError(classifyConnectError(err), errorText(err), { cause: err });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    abort?.removeEventListener("abort", onAbort);
  }
}

export class UpstreamConn {
  readonly buf = new Uint8Array(READ_BUFFER);
  start = 0;
  end = 0;
  /** True once it served a request and went back to the pool. */
  reused = false;
  closed = false;
  /** True while parked in the pool. */
  idle = false;
  /** The read a parked connection keeps pending (adopted by the next fill()). */
  idleRead: Promise<number | null> | null = null;
  /** performance.now() when parked. */
  idleSince = 0;

  constructor(readonly conn: Deno.TcpConn, readonly key: string) {}

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Reads more bytes into the buffer; returns how many (0 = EOF). Throws on a socket error, or
   * UpstreamError("invalid-response") when the buffer is full of unconsumed bytes.
   */
  async fill(): Promise<number> {
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    } else if (this.end === this.buf.length) {
      if (this.start === 0) {
        throw new UpstreamError("invalid-response", "response head or line too long");
      }
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    let p = this.idleRead;
    if (p) this.idleRead = null;
    else p = this.conn.read(this.buf.subarray(this.end));
    const n = await p;
    if (n === null) return 0;
    this.end += n;
    return n;
  }

  /** Writes every byte (conn.write may write only part of a buffer). */
  async writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      off += await this.conn.write(off === 0 ? bytes : bytes.subarray(off));
    }
  }

  /** Parks the connection: keeps one read pending to notice a close by the server. */
  startIdleRead(): Promise<number | null> {
    this.start = 0;
    this.end = 0;
    this.idleRead = this.conn.read(this.buf);
    return this.idleRead;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}
