// Our own HTTP/1.1 server over Deno.listen, in place of Deno.serve on the client side. What it
// gives that Deno.serve could not: the raw socket after a WebSocket 101 (a byte tunnel, like
// HAProxy's: Deno's WebSocket capped the relay at less than half of HAProxy's messages/s),
// request heads as received (duplicates, HTTP version, absolute-form), the local address of
// every connection (X-Original-To), HAProxy's own 400/408 and `timeout http-request`, and a
// line for connections that never made a request ("<BADREQ>").
//
// One Connection per client socket runs requests one after the other (pipelined ones wait in
// the read buffer). While a request is being answered, one read stays pending on the socket
// (the one that will bring the next request): it settling with EOF means the client left,
// which aborts the exchange's signal.

import { BufferedConn } from "../net/buffered.ts";
import { encodeHead } from "../upstream/request.ts";
import { Acceptor } from "../net/accept.ts";
import { Watchdog } from "../net/watchdog.ts";
import { checkChunks, RequestBodyReader } from "./body.ts";
import { parseRequestHead, type RequestHead, RequestHeadError } from "./head.ts";
import { errorPage, errorPageBytes, pageCloses } from "./pages.ts";
import type { ErrorPage } from "../config/model.ts";
import type { ClientExchange, Framing, RequestBody } from "./types.ts";
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

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]); // "0\r\n\r\n"
const EMPTY = new Uint8Array(0);
/** A client connection's read buffer while a request is read (grows up to 64 KB for a head). */
const CLIENT_BUFFER = 16 * 1024;
/**
 * The read that waits for a request with nothing buffered (a new connection, an idle kept-alive
 * one, the read noticing a client leaving while its request is answered) goes into a small
 * buffer of its own: an idle connection does not pin CLIENT_BUFFER bytes. What it brings is
 * copied into a CLIENT_BUFFER-sized buffer (taken from a small free list) for the parsers.
 */
const WAIT_READ = 2048;
/** Read buffers kept for reuse between requests (16 KB each, so at most 1 MB). */
const FREE_MAX = 64;
const freeBuffers: Uint8Array[] = [];

/** The client socket: a BufferedConn whose pending "wait" read may go into a small buffer. */
class ClientSock extends BufferedConn {
  /** The buffer of the pending wait read (made once per connection). */
  private small: Uint8Array | null = null;
  /** The pending read (`idleRead`) goes into `small`, not into `buf` after `end`. */
  private smallRead = false;

  constructor(conn: Deno.TcpConn) {
    super(conn, CLIENT_BUFFER);
  }

  /**
   * Starts the read that the next fill() adopts (no read may be pending): into `small` when
   * nothing is buffered, else into the room left in `buf` (pipelined requests are waiting).
   * Null when the buffer is full of them: no more reads until some are answered.
   */
  startWaitRead(): Promise<number | null> | null {
    if (this.buffered === 0) {
      this.small ??= new Uint8Array(WAIT_READ);
      this.smallRead = true;
      return this.idleRead = this.conn.read(this.small);
    }
    if (this.end === this.buf.length) {
      if (this.start === 0) return null;
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    this.smallRead = false;
    return this.idleRead = this.conn.read(this.buf.subarray(this.end));
  }

  /** Bytes of the buffers held. */
  get heldBytes(): number {
    return this.buf.length + (this.small?.length ?? 0);
  }

  override async fill(): Promise<number> {
    const p = this.idleRead;
    if (p === null || !this.smallRead) return await super.fill();
    this.idleRead = null;
    this.smallRead = false;
    const n = await p;
    if (n === null) return 0;
    if (this.start === this.end) this.start = this.end = 0;
    if (this.buf.length === 0) this.buf = freeBuffers.pop() ?? new Uint8Array(CLIENT_BUFFER);
    if (this.buf.length - this.end < n) {
      // Only when something was buffered after the read started: make room for it.
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      if (this.buf.length - this.end < n) {
        const bigger = new Uint8Array(this.end + n + CLIENT_BUFFER);
        bigger.set(this.buf.subarray(0, this.end));
        this.buf = bigger;
      }
    }
    this.buf.set(this.small!.subarray(0, n), this.end);
    this.end += n;
    return n;
  }

  /**
   * Nothing buffered and no read pending into `buf`: lets the buffer go while the connection
   * waits. `reuse`: no view of it can be alive (it goes to the free list, else to the GC).
   */
  park(reuse: boolean): void {
    if (this.buffered !== 0 || this.buf.length === 0 || this.closed) return;
    if (this.idleRead !== null && !this.smallRead) return;
    if (reuse && this.buf.length === CLIENT_BUFFER && freeBuffers.length < FREE_MAX) {
      freeBuffers.push(this.buf);
    }
    this.buf = EMPTY;
    this.start = this.end = 0;
  }
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

class Server extends Acceptor implements HttpServer {
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

class Connection {
  readonly sock: ClientSock;
  readonly info: ConnInfo;
  private requests = 0;
  /** Waiting for a request head with nothing of it received. */
  private idle = false;
  private closed = false;
  private timedOut = false;
  ex: Exchange | null = null;
  /** The client socket went away while an exchange was running. */
  gone = false;
  private readonly headDog: Watchdog;
  /** performance.now() at accept (the first request head and a TLS handshake count from it). */
  private readonly acceptedAt = performance.now();
  private handshaking = false;

  constructor(
    readonly server: Server,
    conn: Deno.Conn,
    /** Frees the connection's maxconn slot (handed to a takeover). */
    readonly release: () => void,
  ) {
    // A TlsConn reads and writes like a TcpConn (setNoDelay aside, which nothing calls on it).
    this.sock = new ClientSock(conn as Deno.TcpConn);
    this.info = {
      remote: conn.remoteAddr as Deno.NetAddr,
      local: conn.localAddr as Deno.NetAddr,
      tls: null,
    };
    this.headDog = new Watchdog(null, () => this.headTimeout());
  }

  async run(): Promise<void> {
    let keep = false;
    try {
      if (this.server.opts.tls && !(await this.handshake())) return;
      keep = await this.loop();
    } catch (err) {
      console.error(`wtproxy: client connection: ${err instanceof Error ? err.stack : err}`);
    } finally {
      this.headDog.disarm();
      this.server.conns.delete(this);
      if (!keep) {
        this.closeSocket();
        this.release(); // a socket taken over frees its slot when the tunnel closes it
      }
    }
  }

  /**
   * The TLS handshake, under `timeout http-request` (else `timeout client`) counted from the
   * accept, like the request head that follows. A failure (plain HTTP or garbage on a TLS
   * port, no common version or cipher, timeout, client gone) is reported and the connection
   * closed: nothing can be answered over TLS that did not start.
   */
  private async handshake(): Promise<boolean> {
    const s = this.server.opts.settings();
    const since = Date.now();
    this.handshaking = true;
    this.headDog.arm(s.httpRequestTimeout ?? s.clientTimeout, this.acceptedAt);
    try {
      const hs = await (this.sock.conn as unknown as Deno.TlsConn).handshake();
      this.info.tls = { alpn: hs.alpnProtocol };
      return true;
    } catch (err) {
      if (this.timedOut) this.bad(-1, "cR--", false, since, "TLS handshake timeout");
      else if (!this.closed) {
        const why = err instanceof Error ? err.message : String(err);
        // EOF or reset before a ClientHello: the client left (or a TCP probe).
        const gone = err instanceof Deno.errors.UnexpectedEof ||
          err instanceof Deno.errors.ConnectionReset || /eof|reset|closed/i.test(why);
        this.bad(-1, gone ? "CR--" : "PR--", gone, since, `TLS handshake: ${why}`);
      }
      return false;
    } finally {
      this.handshaking = false;
      this.headDog.disarm();
    }
  }

  /** True when the socket was taken over (not to be closed here). */
  private async loop(): Promise<boolean> {
    const sock = this.sock;
    const server = this.server;
    for (;;) {
      const s = server.opts.settings();
      const first = this.requests === 0;
      const since = Date.now();
      // 1. A complete request head.
      let parsed: { head: RequestHead; consumed: number } | null = null;
      let received = false;
      /** Bytes of this head already looked at by a parse that found it incomplete. */
      let scanned = 0;
      /**
       * `timeout http-request` (and http-keep-alive) bound the wait for the whole head, counted
       * from the connection's accept (first request) or from the first byte (later requests);
       * only `timeout client` is an inactivity timeout, re-armed at each read.
       */
      let waitStart = first ? this.acceptedAt : performance.now();
      for (;;) {
        if (sock.buffered > 0) {
          if (!received && !first) waitStart = performance.now();
          received = true;
          try {
            parsed = parseRequestHead(
              sock.buf,
              sock.start,
              sock.end,
              undefined,
              sock.start + scanned,
            );
          } catch (err) {
            if (err instanceof RequestHeadError) {
              await this.reject(since, err.message, err.status === 422 ? 422 : 400);
            } else await this.reject(since, String(err));
            return false;
          }
          if (parsed) {
            // A chunked body whose framing is already malformed in the bytes at hand is
            // refused before anything goes upstream (HAProxy parses its buffer first too).
            const why = parsed.head.bodyKind === "chunked"
              ? checkChunks(sock.buf, sock.start + parsed.consumed, sock.end)
              : null;
            if (why !== null) {
              await this.reject(since, `request body: ${why}`);
              return false;
            }
            break;
          }
          scanned = sock.buffered;
        }
        if (server.draining && sock.buffered === 0 && !(first && server.opts.tls)) return false;
        if (sock.buffered === 0 && sock.idleRead === null) sock.startWaitRead();
        const total = received || first
          ? s.httpRequestTimeout
          : (s.keepAliveTimeout ?? s.httpRequestTimeout);
        this.idle = sock.buffered === 0;
        if (total) this.headDog.arm(total, waitStart);
        else this.headDog.arm(s.clientTimeout);
        let n: number;
        try {
          n = await sock.fill();
        } catch (err) {
          n = -1;
          if (!this.timedOut && !this.closed && !(err instanceof Deno.errors.ConnectionReset)) {
            // A head larger than the read buffer ends up here too.
            if (sock.buffered > 0) {
              await this.reject(since, `request head: ${err}`);
              return false;
            }
          }
        } finally {
          this.idle = false;
          this.headDog.disarm();
        }
        if (this.timedOut) {
          // 408 to a new connection or a partial request; a kept-alive one closes silently.
          if (first || sock.buffered > 0) {
            this.bad(408, "cR--", !received && sock.buffered === 0, since, "timeout");
          }
          return false;
        }
        if (n <= 0) {
          // Closed (or reset) by the client. Between requests: nothing to say.
          if (first || sock.buffered > 0) {
            this.bad(400, "CR--", !received && sock.buffered === 0, since, "client closed");
          }
          return false;
        }
      }
      // 2. Answer it.
      sock.start += parsed.consumed;
      this.requests++;
      const head = parsed.head;
      const ex = new Exchange(this, head, s.clientTimeout);
      this.ex = ex;
      // Keep a read pending to notice the client leaving (not for an upgrade: the tunnel
      // takes the socket over and does its own reads).
      if (head.bodyKind === "none" && !head.connectionTokens.includes("upgrade")) this.watch();
      try {
        await server.opts.handler(ex, this.info);
      } catch (err) {
        console.error(`wtproxy: request handler: ${err instanceof Error ? err.stack : err}`);
        if (!ex.headSent && !ex.finished) {
          await ex.sendError(502).catch(() => {});
        } else ex.abort();
      }
      this.ex = null;
      if (ex.takenOver) return true;
      if (!ex.finished) ex.abort();
      if (ex.aborted || ex.closeAfter || this.gone || server.draining) return false;
      if (ex.bodyReader && !ex.bodyReader.complete) return false;
      // Waiting for the next request: the read buffer goes back (to the free list when no body
      // chunk, a view into it, may still be in someone's hands).
      sock.park(ex.bodyReader === null);
    }
  }

  /**
   * One read pending while the request is answered (EOF = client gone), adopted by the next
   * fill(); none when the buffer is full of pipelined requests.
   */
  watch(): void {
    const sock = this.sock;
    if (sock.idleRead || this.closed) return;
    const p = sock.startWaitRead();
    p?.then((n) => {
      if (n === null) this.clientGone();
    }, () => this.clientGone());
  }

  private clientGone(): void {
    this.gone = true;
    this.ex?.clientGone();
  }

  private headTimeout(): void {
    this.timedOut = true;
    if (this.handshaking) return this.closeSocket(); // no TLS yet: nothing to answer with
    const sock = this.sock;
    // New connection or partial request: HAProxy's 408, then close. The pending read is
    // abandoned by closing the socket after the write.
    if (this.requests === 0 || sock.buffered > 0) {
      const page = errorPage(408, true);
      sock.writeAll(page).catch(() => {}).finally(() => this.closeSocket());
    } else this.closeSocket();
  }

  /**
   * Answers a malformed request with HAProxy's 400 (or its 422 for a Transfer-Encoding other
   * than chunked) and reports it. (HAProxy's parser has no other answer: an unsupported HTTP
   * version, which the parser reports as 505, gets a 400 too.)
   */
  private async reject(since: number, reason: string, status: 400 | 422 = 400): Promise<void> {
    try {
      await this.sock.writeAll(errorPage(status, true));
    } catch { /* client gone */ }
    this.bad(status, "PR--", false, since, reason);
  }

  private bad(
    status: 400 | 408 | 422 | -1,
    termination: string,
    empty: boolean,
    acceptDate: number,
    reason: string,
  ): void {
    try {
      this.server.opts.onBadRequest?.(
        { status, termination, empty, acceptDate, reason },
        this.info,
      );
    } catch { /* a logger must not break the server */ }
  }

  /**
   * A drain closes the connections waiting for a request, except a new TLS one (handshake or
   * first request under way): a TLS listener is replaced when a reload brings new
   * certificates, and the clients it accepted last must get their answer.
   */
  closeIfIdle(): void {
    if (this.idle && (this.requests > 0 || !this.server.opts.tls)) this.closeSocket();
  }

  closeSocket(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.ex?.clientGone();
  }
}

class Exchange implements ClientExchange {
  /** Interim (1xx) answers still being written. */
  private interim: Promise<void> | null = null;
  headSent = false;
  finished = false;
  aborted = false;
  takenOver = false;
  /** Close the connection after this answer. */
  closeAfter: boolean;
  readonly body: RequestBody | null;
  readonly bodyReader: RequestBodyReader | null;
  private mode: "none" | "length" | "chunked" | "close" = "none";
  private remaining = 0;
  private ac: AbortController | null = null;
  private goneFn: (() => void) | null = null;
  gone = false;
  private readonly writeDog: Watchdog;
  private writeTimedOut = false;

  constructor(
    private readonly conn: Connection,
    readonly head: RequestHead,
    clientTimeout: number | null,
  ) {
    this.closeAfter = !head.keepAlive;
    this.writeDog = new Watchdog(clientTimeout, () => {
      this.writeTimedOut = true;
      this.conn.closeSocket();
    });
    if (head.bodyKind === "none") {
      this.body = null;
      this.bodyReader = null;
    } else {
      const reader = new RequestBodyReader(conn.sock, head, clientTimeout);
      this.bodyReader = reader;
      this.body = {
        read: async () => {
          const chunk = await reader.read();
          if (chunk === null) conn.watch();
          return chunk;
        },
        cancel: () => reader.cancel(),
        get bytes() {
          return reader.bytes;
        },
        get ended() {
          return reader.ended;
        },
        get timedOut() {
          return reader.timedOut;
        },
      };
    }
  }

  get signal(): AbortSignal {
    if (this.ac === null) {
      this.ac = new AbortController();
      if (this.gone) this.ac.abort();
    }
    return this.ac.signal;
  }

  onGone(fn: (() => void) | null): void {
    this.goneFn = fn;
  }

  /** The client socket went away: abort whatever waits for the server. */
  clientGone(): void {
    if (this.gone || this.finished) return;
    this.lost();
  }

  private lost(): void {
    this.gone = true;
    this.ac?.abort();
    const fn = this.goneFn;
    this.goneFn = null;
    fn?.();
  }

  sendInterim(status: number, reason: string, lines: string): void {
    if (this.head.version !== "HTTP/1.1" || this.headSent || this.gone) return;
    const bytes = encodeHead(`HTTP/1.1 ${status} ${reason}\r\n${lines}\r\n`);
    const sock = this.conn.sock;
    // Chained: the final answer's first write waits for the interim ones (out()).
    this.interim = (this.interim ?? Promise.resolve()).then(() => sock.writeAll(bytes)).catch(
      () => {},
    );
  }

  private async out(bytes: Uint8Array): Promise<void> {
    if (this.interim !== null) {
      const p = this.interim;
      this.interim = null;
      await p;
    }
    if (this.gone) throw new Error("client gone");
    const dog = this.writeDog;
    dog.arm();
    try {
      // Usually written whole by the first write: one async layer less than writeAll().
      const sock = this.conn.sock;
      const n = await sock.conn.write(bytes);
      if (n < bytes.length) await sock.writeAll(bytes.subarray(n));
    } catch (err) {
      this.lost();
      throw this.writeTimedOut ? new ClientTimeout() : err;
    } finally {
      dog.disarm();
    }
  }

  private headText(status: number, reason: string, lines: string, framing: string): string {
    if (this.conn.server.draining) this.closeAfter = true;
    let s = `HTTP/1.1 ${status} ${reason}\r\n${lines}${framing}`;
    if (this.closeAfter) s += "connection: close\r\n";
    else if (this.head.version === "HTTP/1.0") s += "connection: keep-alive\r\n";
    return s + "\r\n";
  }

  async sendHead(status: number, reason: string, lines: string, framing: Framing): Promise<void> {
    let f = "";
    if (framing.kind === "length") {
      this.mode = "length";
      this.remaining = framing.length;
      f = `content-length: ${framing.length}\r\n`;
    } else if (framing.kind === "stream") {
      if (this.head.version === "HTTP/1.1") {
        this.mode = "chunked";
        f = "transfer-encoding: chunked\r\n";
      } else {
        this.mode = "close";
        this.closeAfter = true;
      }
    } else this.mode = "none";
    this.headSent = true;
    await this.out(encodeHead(this.headText(status, reason, lines, f)));
  }

  async sendWhole(status: number, reason: string, lines: string, body: Uint8Array): Promise<void> {
    this.headSent = true;
    this.mode = "none";
    const head = this.headText(status, reason, lines, `content-length: ${body.length}\r\n`);
    // Head and body in one buffer, the head written in place (byte per char, as encodeHead):
    // no encoder call, no second buffer.
    const n = head.length;
    const all = new Uint8Array(n + body.length);
    for (let i = 0; i < n; i++) all[i] = head.charCodeAt(i);
    if (body.length > 0) all.set(body, n);
    await this.out(all);
    this.finished = true;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    switch (this.mode) {
      case "length":
        if (chunk.length > this.remaining) throw new Error("body longer than its Content-Length");
        this.remaining -= chunk.length;
        return await this.out(chunk);
      case "close":
        return await this.out(chunk);
      case "chunked": {
        const size = encodeHead(chunk.length.toString(16) + "\r\n");
        if (chunk.length <= 16384) {
          const framed = new Uint8Array(size.length + chunk.length + 2);
          framed.set(size);
          framed.set(chunk, size.length);
          framed.set(CRLF, size.length + chunk.length);
          return await this.out(framed);
        }
        await this.out(size);
        await this.out(chunk);
        return await this.out(CRLF);
      }
      default:
        throw new Error("no body expected");
    }
  }

  async end(trailers?: string): Promise<void> {
    if (this.finished) return;
    if (this.mode === "chunked") {
      await this.out(trailers ? encodeHead(`0\r\n${trailers}\r\n`) : LAST_CHUNK);
    } else if (this.mode === "length" && this.remaining !== 0) {
      this.closeAfter = true; // the framing was not honoured: the client must not wait for more
    } else if (this.mode === "close") this.closeAfter = true;
    this.finished = true;
  }

  closeAfterAnswer(): void {
    this.closeAfter = true;
  }

  abort(): void {
    this.aborted = true;
    this.finished = true;
    this.conn.closeSocket();
  }

  async sendError(status: number, page?: ErrorPage): Promise<void> {
    if (pageCloses(status) || page?.closes || this.conn.server.draining) this.closeAfter = true;
    const closing = this.closeAfter || this.head.version === "HTTP/1.0";
    if (closing) this.closeAfter = true;
    this.headSent = true;
    try {
      if (page) {
        const text = closing ? page.closing : page.open;
        if (text !== "") await this.out(encodeHead(text));
      } else await this.out(errorPage(status, closing));
    } finally {
      this.finished = true;
    }
  }

  errorBytes(status: number, page?: ErrorPage): number {
    return page ? page.open.length : errorPageBytes(status);
  }

  takeOver(): {
    conn: Deno.TcpConn;
    buffered: Uint8Array;
    pending: Promise<Uint8Array | null> | null;
    release: () => void;
  } {
    const sock = this.conn.sock;
    this.takenOver = true;
    this.finished = true;
    this.headSent = true;
    const buffered = sock.buffered > 0 ? sock.buf.slice(sock.start, sock.end) : EMPTY;
    sock.start = sock.end;
    let pending: Promise<Uint8Array | null> | null = null;
    if (sock.idleRead !== null) {
      // The read that watched the previous request is still out: its bytes are the tunnel's.
      pending = sock.fill().then(
        (n) => (n === 0 ? null : sock.buf.slice(sock.start, sock.end)),
        () => null,
      );
    } else sock.releaseBuffer();
    return { conn: sock.conn, buffered, pending, release: this.conn.release };
  }
}

/** A write to the client did not complete within `timeout client`. */
export class ClientTimeout extends Error {
  constructor() {
    super("client timeout");
    this.name = "ClientTimeout";
  }
}
