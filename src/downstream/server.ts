// Our own HTTP/1.1 server over Deno.listen, in place of Deno.serve on the client side. What it
// gives that Deno.serve could not: the raw socket after a WebSocket 101 (a byte tunnel, like
// HAProxy's: Deno's WebSocket capped the relay at less than half of HAProxy's messages/s),
// request heads as received (duplicates, HTTP version, absolute-form), the local address of
// every connection (X-Original-To), HAProxy's own 400/408 and `timeout http-request`, and a
// line for connections that never made a request ("<BADREQ>").
//
// The seams: sock.ts (the client socket's buffers), connection.ts (one client connection's
// requests), exchange.ts (the answer to one request).

import { Acceptor } from "../net/accept.ts";
import { Connection } from "./connection.ts";
import type { ClientExchange } from "./types.ts";
import { listenTls } from "../tls/listen.ts";
import type { CertSelector } from "../tls/select.ts";
import type { TlsInfo } from "../proxy/request.ts";

export interface ConnSettings {
  clientTimeout: number | null;
  httpRequestTimeout: number | null;
  keepAliveTimeout: number | null;
}

export interface ConnInfo {
  remote: Deno.NetAddr;
  local: Deno.NetAddr;
  /** A TLS connection (a `bind ... ssl` listener), known after its handshake; else null. */
  tls: TlsInfo | null;
}

/** A connection that ended without a request to handle (logged as "<BADREQ>" by HAProxy). */
export interface BadRequest {
  /**
   * 400 (malformed, or closed mid-head), 408 (timeout), 422 (a refused Transfer-Encoding); -1
   * for a failed TLS handshake (nothing can be answered: the connection is closed).
   */
  status: 400 | 408 | 422 | -1;
  /**
   * PR-- (malformed; a refused TLS handshake: plain HTTP or garbage on a TLS port), CR--
   * (client closed), cR-- (client timeout).
   */
  termination: string;
  /** The client sent no byte at all (`option dontlognull` skips these). */
  empty: boolean;
  /** Date.now() when the connection was accepted (or the previous response ended). */
  acceptDate: number;
  /** Why, for diagnostics. */
  reason: string;
}

export interface ServerOptions {
  hostname: string;
  port: number;
  backlog?: number;
  reusePort?: boolean;
  /** Read at each request (a reload may change the frontend's timeouts). */
  settings(): ConnSettings;
  /** Answers one request; resolves when the answer is complete (or taken over). */
  handler(ex: ClientExchange, conn: ConnInfo): Promise<void>;
  onBadRequest?(bad: BadRequest, conn: ConnInfo): void;
  /**
   * maxconn: called for each accepted connection; gives the function that frees its slot
   * (called once, when the connection closes). While it waits, nothing more is accepted: new
   * clients wait in the kernel's listen backlog, as with HAProxy.
   */
  admit?(): (() => void) | Promise<() => void>;
  /** TLS on this listener: the certificates per SNI and the ALPN protocols offered. */
  tls?: { alpn: string[]; select: CertSelector };
}

export interface HttpServer {
  readonly addr: Deno.NetAddr;
  /** Client connections open (tunnels taken over are no longer counted). */
  readonly connections: number;
  /** Bytes of read buffers the client connections hold (for tests and diagnostics). */
  readonly bufferBytes: number;
  /** Stops accepting. */
  close(): void;
  /**
   * Stops accepting, closes idle connections, lets busy ones finish their current request
   * (answered with `connection: close`); true when all are gone within `graceMs`.
   */
  drain(graceMs: number): Promise<boolean>;
  /** Closes every connection now. */
  kill(): void;
}

export function startServer(opts: ServerOptions): HttpServer {
  const listener: Deno.Listener = opts.tls
    ? listenTls({
      hostname: opts.hostname,
      port: opts.port,
      backlog: opts.backlog,
      reusePort: opts.reusePort,
      alpn: opts.tls.alpn,
      select: opts.tls.select,
    })
    : Deno.listen({
      hostname: opts.hostname,
      port: opts.port,
      tcpBacklog: opts.backlog && opts.backlog > 0 ? opts.backlog : undefined,
      ...(opts.reusePort ? { reusePort: true } : {}),
    } as Deno.TcpListenOptions);
  const server = new Server(listener, opts);
  server.acceptLoop();
  return server;
}

export class Server extends Acceptor implements HttpServer {
  readonly conns = new Set<Connection>();

  constructor(listener: Deno.Listener, readonly opts: ServerOptions) {
    super(listener);
  }

  get connections(): number {
    return this.conns.size;
  }

  get bufferBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.sock.heldBytes;
    return n;
  }

  protected admit(): (() => void) | Promise<() => void> | null {
    return this.opts.admit ? this.opts.admit() : null;
  }

  protected serve(c: Deno.Conn, release: () => void): void {
    const conn = new Connection(this, c, release);
    this.conns.add(conn);
    conn.run();
  }

  async drain(graceMs: number): Promise<boolean> {
    this.close();
    this.draining = true;
    for (const c of this.conns) c.closeIfIdle();
    const deadline = performance.now() + graceMs;
    while (this.conns.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.conns.size === 0;
  }

  kill(): void {
    this.stopAccepting();
    for (const c of this.conns) c.closeSocket();
  }
}
