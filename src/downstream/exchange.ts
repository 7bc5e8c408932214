// The answer to one request (ClientExchange): head, body framing, interim answers, error
// pages, and handing the socket over to a tunnel.

import { encodeHead } from "../upstream/request.ts";
import { RequestBodyReader } from "./body.ts";
import type { RequestHead } from "./head.ts";
import { errorPage, errorPageBytes, pageCloses } from "./pages.ts";
import type { ErrorPage } from "../config/model.ts";
import type { ClientExchange, Framing, RequestBody } from "./types.ts";
import { EMPTY } from "./sock.ts";
import type { Connection } from "./connection.ts";

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]); // "0\r\n\r\n"

export class Exchange implements ClientExchange {
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

  constructor(
    private readonly conn: Connection,
    readonly head: RequestHead,
    private readonly clientTimeout: number | null,
  ) {
    this.closeAfter = !head.keepAlive;
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
    const conn = this.conn;
    const dog = conn.writeDog;
    dog.arm(this.clientTimeout);
    try {
      // Usually written whole by the first write: one async layer less than writeAll().
      const sock = conn.sock;
      const n = await sock.conn.write(bytes);
      if (n < bytes.length) await sock.writeAll(bytes.subarray(n));
    } catch (err) {
      this.lost();
      throw conn.writeTimedOut ? new ClientTimeout() : err;
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
    // no encoder call, no second buffer. Copied before the first await (see ClientExchange).
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
    } else sock.releaseBuffer(true); // the head was decoded, the rest copied: no view is left
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
