// One TCP connection to a server: connect with a timeout, and UpstreamConn, the buffered socket
// of net/ with what the keep-alive pool keeps per connection. A connection parked in the pool
// keeps one read pending: if it settles while parked the server closed the connection (or
// misbehaved) and the pool drops it at once.

import { BufferedConn } from "../net/buffered.ts";
import { Watchdog } from "../net/watchdog.ts";
import { classifyConnectError, errorText, UpstreamError } from "./errors.ts";

export interface ServerAddress {
  hostname: string;
  port: number;
}

/**
 * How a connection is opened; tests may replace it (e.g. to simulate a black-holed server).
 * `signal` aborts the connect; once the connect has settled without an abort the same signal
 * may be handed to a later connect: a connector keeps no listener on it.
 */
export type Connector = (addr: ServerAddress, signal: AbortSignal) => Promise<Deno.TcpConn>;

export const defaultConnector: Connector = (addr, signal) =>
  Deno.connect({ hostname: addr.hostname, port: addr.port, signal });

/**
 * What else cancels a connect (the client going away): an AbortSignal, or a hook that is handed
 * the cancel function when the connect starts and null when it is over (no AbortController nor
 * event listener of the caller's per connect).
 */
export type ConnectAbort = AbortSignal | ((cancel: (() => void) | null) => void);

/**
 * What cancels one connect (its timeout, the client going away). Reused by the next connect
 * while never aborted (almost always): server-close mode connects once per request, and an
 * AbortController, a watchdog and their callbacks each time were a good part of its garbage.
 */
class ConnectGuard {
  readonly ac = new AbortController();
  timedOut = false;
  cancelled = false;
  /** `timeout connect`, on the shared watchdog sweep (no timer per connect). */
  readonly wd = new Watchdog(null, () => {
    this.timedOut = true;
    this.ac.abort();
  });
  /** The client went away. */
  readonly cancel = (): void => {
    this.cancelled = true;
    this.ac.abort();
  };
}
const freeGuards: ConnectGuard[] = [];
const FREE_GUARDS = 64;

/**
 * Connects with `timeout connect`; throws UpstreamError("connect-*"). `abort` (the client
 * going away) cancels too.
 */
export async function connectWithTimeout(
  addr: ServerAddress,
  timeoutMs: number | null,
  connector: Connector = defaultConnector,
  abort?: ConnectAbort,
): Promise<Deno.TcpConn> {
  const g = freeGuards.pop() ?? new ConnectGuard();
  const signal = g.ac.signal;
  if (timeoutMs && timeoutMs > 0) g.wd.arm(timeoutMs);
  if (abort) {
    if (typeof abort === "function") abort(g.cancel);
    else if (abort.aborted) g.cancelled = true; // (its event has fired: not heard, as before)
    else abort.addEventListener("abort", g.cancel, { once: true });
  }
  try {
    const conn = await connector(addr, signal);
    if (signal.aborted) {
      try {
        conn.close();
      } catch { /* already closed */ }
      throw new DOMException("aborted", "AbortError");
    }
    return conn;
  } catch (err) {
    if (g.timedOut) {
      throw new UpstreamError("connect-timeout", `connect timeout after ${timeoutMs} ms`);
    }
    if (g.cancelled) throw new UpstreamError("connect-error", "aborted by client");
    throw new UpstreamError(classifyConnectError(err), errorText(err), { cause: err });
  } finally {
    g.wd.disarm();
    if (typeof abort === "function") abort(null);
    else if (abort) abort.removeEventListener("abort", g.cancel);
    if (!signal.aborted && !g.cancelled && freeGuards.length < FREE_GUARDS) freeGuards.push(g);
  }
}

export class UpstreamConn extends BufferedConn {
  /** True once it served a request and went back to the pool. */
  reused = false;
  /** True while parked in the pool. */
  idle = false;
  /** The pool's idle watchdog for this connection (made once, re-armed on each park). */
  idleWatchdog: Watchdog | null = null;
  /** The pool's handler of the read a parked connection keeps pending (made once). */
  dropIfIdle: (() => void) | null = null;
  /** `timeout server` of the exchange in progress (made once, armed by each exchange). */
  serverDog: Watchdog | null = null;
  /** The server timeout fired (the connection is closed). */
  serverTimedOut = false;
  private noDelay = false;

  /**
   * TCP_NODELAY, set by what writes more than once per exchange (a request body after its
   * head, a tunnel): a request written in one write is never held back by Nagle's algorithm
   * (Linux holds a small segment only while an earlier small one is unacknowledged), so a
   * bodiless request in close mode saves the call.
   */
  setNoDelay(): void {
    if (this.noDelay) return;
    this.noDelay = true;
    try {
      this.conn.setNoDelay(true);
    } catch { /* closed, or not fatal */ }
  }

  /** `firstSize`: the first read buffer's size (default: a pooled 64 KB one). */
  constructor(conn: Deno.TcpConn, readonly key: string, firstSize?: number) {
    super(conn, firstSize);
  }

  /** A response head (or chunk-size line run) past READ_BUFFER: 502. */
  protected override tooLong(): Error {
    return new UpstreamError("invalid-response", "response head or line too long");
  }
}
