// One Connection per client socket runs requests one after the other (pipelined ones wait in
// the read buffer). While a request is being answered, one read stays pending on the socket
// (the one that will bring the next request): it settling with EOF means the client left,
// which aborts the exchange's signal.

import { Watchdog } from "../net/watchdog.ts";
import { checkChunks } from "./body.ts";
import { parseRequestHead, type RequestHead, RequestHeadError } from "./head.ts";
import { errorPage } from "./pages.ts";
import { ClientSock } from "./sock.ts";
import { Exchange } from "./exchange.ts";
import type { ConnInfo, Server } from "./server.ts";

export class Connection {
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
  /** `timeout client` on the answer's writes (one per connection, re-armed by each write). */
  readonly writeDog: Watchdog;
  /** The write watchdog fired (the socket is closed: the write fails with ClientTimeout). */
  writeTimedOut = false;
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
    this.writeDog = new Watchdog(null, () => {
      this.writeTimedOut = true;
      this.closeSocket();
    });
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
      this.writeDog.disarm();
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
      // 2. Answer it (in a frame of its own: once it is over nothing of the request stays
      // referenced from this loop's registers while the next one is awaited).
      sock.start += parsed.consumed;
      const next = await this.answer(parsed.head, s.clientTimeout);
      if (next !== "next") return next === "taken";
    }
  }

  /** Answers one request: "next" when the connection waits for another one. */
  private async answer(
    head: RequestHead,
    clientTimeout: number | null,
  ): Promise<"next" | "taken" | "close"> {
    const sock = this.sock;
    const server = this.server;
    this.requests++;
    const ex = new Exchange(this, head, clientTimeout);
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
    if (ex.takenOver) return "taken";
    if (!ex.finished) ex.abort();
    if (ex.aborted || ex.closeAfter || this.gone || server.draining) return "close";
    if (ex.bodyReader && !ex.bodyReader.complete) return "close";
    // Waiting for the next request: the read buffer goes back (to the free list when no body
    // chunk, a view into it, may still be in someone's hands).
    sock.park(ex.bodyReader === null);
    return "next";
  }

  /**
   * One read pending while the request is answered (EOF = client gone), adopted by the next
   * fill(); none when the buffer is full of pipelined requests.
   */
  watch(): void {
    const sock = this.sock;
    if (sock.idleRead || this.closed) return;
    sock.startWaitRead()?.then(this.watched, this.lostClient);
  }

  // The watch read's handlers, made once per connection (not per request).
  private readonly watched = (n: number | null): void => {
    if (n === null) this.clientGone();
  };
  private readonly lostClient = (): void => this.clientGone();

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
