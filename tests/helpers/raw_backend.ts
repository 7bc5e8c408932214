// A raw TCP backend for tests: it reads each request head (and its body, by Content-Length or
// chunked) exactly as it arrived on the wire and lets the test answer with raw bytes. It keeps
// every head it received, counts connections, and closes everything in close().

export interface ReceivedRequest {
  /** The head bytes exactly as received, decoded as latin1 (request line to the blank line). */
  head: string;
  /** The body bytes as they arrived on the wire (still chunk-framed when chunked). */
  rawBody: Uint8Array;
  /** The body de-chunked. */
  body: Uint8Array;
  /** Index of the TCP connection it came on (0-based), and that connection's peer port. */
  connection: number;
  peerPort: number;
}

export interface BackendConn {
  conn: Deno.TcpConn;
  index: number;
  write(data: string | Uint8Array): Promise<void>;
  close(): void;
}

/**
 * Answers one request. Return "close" to close the connection afterwards, anything else keeps
 * it open for the next request.
 */
export type RawHandler = (
  req: ReceivedRequest,
  c: BackendConn,
) => Promise<void | "close"> | void | "close";

const enc = new TextEncoder();

export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 4096)));
  }
  return s;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class RawBackend {
  readonly listener: Deno.TcpListener;
  readonly received: ReceivedRequest[] = [];
  connections = 0;
  private readonly conns = new Set<Deno.TcpConn>();
  private readonly tasks = new Set<Promise<void>>();
  private acceptLoop: Promise<void>;
  /** Set to true to stop reading request bodies (the handler reads itself). */
  readBody = true;

  constructor(private handler: RawHandler, port = 0) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port });
    this.acceptLoop = this.accept();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  /** Accepted connections not closed yet (by either side). */
  get open(): number {
    return this.conns.size;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  setHandler(h: RawHandler): void {
    this.handler = h;
  }

  private async accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.listener.accept();
      } catch {
        return;
      }
      const index = this.connections++;
      this.conns.add(conn);
      const t = this.serve(conn, index).finally(() => {
        this.conns.delete(conn);
        this.tasks.delete(t);
      });
      this.tasks.add(t);
    }
  }

  private async serve(conn: Deno.TcpConn, index: number): Promise<void> {
    let closed = false;
    const c: BackendConn = {
      conn,
      index,
      write: async (data) => {
        const bytes = typeof data === "string" ? enc.encode(data) : data;
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      },
      close: () => {
        if (closed) return;
        closed = true;
        try {
          conn.close();
        } catch { /* closed */ }
      },
    };
    let buf: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    const more = async (): Promise<boolean> => {
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        return false;
      }
      if (n === null) return false;
      buf = concat(buf, chunk.subarray(0, n));
      return true;
    };
    try {
      for (;;) {
        let end = -1;
        while ((end = indexOfHeadEnd(buf)) === -1) {
          if (!(await more())) return;
        }
        const head = latin1(buf.subarray(0, end));
        buf = buf.subarray(end);
        const lower = head.toLowerCase();
        let rawBody: Uint8Array = new Uint8Array(0);
        let body: Uint8Array = new Uint8Array(0);
        if (this.readBody) {
          const cl = /\r\ncontent-length: *(\d+)/.exec(lower);
          if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
            const start = 0;
            let pos = start;
            const parts: Uint8Array[] = [];
            for (;;) {
              let lf;
              while ((lf = buf.indexOf(10, pos)) === -1) if (!(await more())) return;
              const size = parseInt(latin1(buf.subarray(pos, lf)).trim(), 16);
              pos = lf + 1;
              if (size === 0) {
                // trailers until an empty line
                for (;;) {
                  let lf2;
                  while ((lf2 = buf.indexOf(10, pos)) === -1) if (!(await more())) return;
                  const line = latin1(buf.subarray(pos, lf2)).trim();
                  pos = lf2 + 1;
                  if (line === "") break;
                }
                break;
              }
              while (buf.length < pos + size + 2) if (!(await more())) return;
              parts.push(buf.slice(pos, pos + size));
              pos += size + 2;
            }
            rawBody = buf.slice(0, pos);
            buf = buf.subarray(pos);
            body = parts.reduce((a, b) => concat(a, b), new Uint8Array(0));
          } else if (cl) {
            const n = Number(cl[1]);
            while (buf.length < n) if (!(await more())) return;
            rawBody = buf.slice(0, n);
            body = rawBody;
            buf = buf.subarray(n);
          }
        }
        const req: ReceivedRequest = {
          head,
          rawBody,
          body,
          connection: index,
          peerPort: conn.remoteAddr.port,
        };
        this.received.push(req);
        const r = await this.handler(req, c);
        if (r === "close" || closed) return;
      }
    } catch {
      // connection errors end this connection
    } finally {
      c.close();
    }
  }

  /** Closes the listener, every open connection, and waits for the handlers. */
  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch { /* closed */ }
    await this.acceptLoop;
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.allSettled([...this.tasks]);
  }
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** A handler answering 200 with the exact request head as the body (Content-Length framed). */
export const echoHead: RawHandler = async (req, c) => {
  const body = enc.encode(req.head);
  await c.write(
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  await c.write(body);
};

/** A handler answering 200 with `name` (and the request target) as body. */
export function named(name: string): RawHandler {
  return async (req, c) => {
    const target = req.head.split(" ")[1];
    const body = `${name} ${target}`;
    await c.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  };
}

/** Reserves a port that nothing listens on (refused connections). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}
