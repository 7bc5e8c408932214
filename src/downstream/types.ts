import type { ErrorPage } from "../config/model.ts";
// The client side of one request, as the proxy room sees it: the parsed request head, the
// request body, and the operations that answer it on the client connection. Implemented by
// server.ts (our own HTTP/1.1 server over Deno.listen: raw sockets for WebSocket tunnels, the
// local address for X-Original-To, request heads as received).

import type { RequestHead } from "./head.ts";

/** How a response body is framed toward the client. */
export type Framing =
  /** No body (HEAD, 204, 304, 1xx): a Content-Length among the lines is kept as is. */
  | { kind: "none" }
  /** wtproxy writes `content-length: N`. */
  | { kind: "length"; length: number }
  /** Length unknown: chunked to an HTTP/1.1 client, close-delimited to an HTTP/1.0 one. */
  | { kind: "stream" };

/** A request body, de-chunked. A chunk is valid until the next read(): write it out first. */
export interface RequestBody {
  /** Next chunk, or null at the end; throws when the client fails or times out. */
  read(): Promise<Uint8Array | null>;
  /** Stops reading (the connection will not be reused unless the body was complete). */
  cancel(): void;
  /** Payload bytes read so far. */
  readonly bytes: number;
  /** The whole body was read. */
  readonly ended: boolean;
  /** The client stayed silent for `timeout client` while sending it. */
  readonly timedOut: boolean;
}

export interface ClientExchange {
  readonly head: RequestHead;
  readonly body: RequestBody | null;
  /** Aborted when the client connection fails or closes before the response is complete. */
  readonly signal: AbortSignal;
  /** The client connection failed or closed before the response was complete. */
  readonly gone: boolean;
  /**
   * `fn` is called (once) when the client goes away before the response is complete; null
   * removes it. A cheaper `signal` for the per-request hot path (no AbortController, no event
   * listener): one callback at a time.
   */
  onGone(fn: (() => void) | null): void;
  /** A response head has been sent. */
  readonly headSent: boolean;
  /**
   * Sends the response head. `lines` are "name: value\r\n" lines without framing headers
   * (content-length, transfer-encoding, connection, keep-alive): the server adds those.
   */
  sendHead(status: number, reason: string, lines: string, framing: Framing): Promise<void>;
  /** An interim 1xx answer (e.g. 103 Early Hints) before the final one; ignored for an
   * HTTP/1.0 client, which must not get one. Written in order with what follows. */
  sendInterim(status: number, reason: string, lines: string): void;
  /** Head and whole body in one write (`content-length` added). `body` is copied before the
   * call returns: the caller may reuse its buffer at once. */
  sendWhole(status: number, reason: string, lines: string, body: Uint8Array): Promise<void>;
  /** Body bytes, framed as the head said. Rejects when the client is gone or `timeout client`
   * passes with the client not reading. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the body (chunked: the last chunk, then `trailers` lines if any). */
  end(trailers?: string): Promise<void>;
  /** Closes the client connection after this answer (`option httpclose`). */
  closeAfterAnswer(): void;
  /** Ends the exchange abnormally: the connection is closed (the client sees a cut body). */
  abort(): void;
  /** HAProxy's error page for `status` (or the proxy's `errorfile` page); the connection closes
   * after a 400 or 408, or after a page without a length. */
  sendError(status: number, page?: ErrorPage): Promise<void>;
  /** Bytes the error page puts on the wire (for the log). */
  errorBytes(status: number, page?: ErrorPage): number;
  /**
   * Takes the connection over (a WebSocket tunnel after the 101): the socket, the bytes the
   * client already sent past the request head, and `pending`, when a read of the server's was
   * still in flight (a request pipelined behind another): its bytes, or null at EOF. Read
   * from the socket only after `pending` settled. `release` frees the connection's maxconn
   * slot: call it once, when the socket is closed. The server forgets the connection.
   */
  takeOver(): {
    conn: Deno.TcpConn;
    buffered: Uint8Array;
    pending: Promise<Uint8Array | null> | null;
    release: () => void;
  };
}
