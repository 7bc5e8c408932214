// A raw HTTP/1.1 client for tests: sends exact bytes, parses one response at a time on a
// kept-alive connection (Content-Length, chunked or until close).

import { latin1 } from "./raw_backend.ts";

export interface RawResponse {
  status: number;
  statusLine: string;
  /** [name, value] as received (names lower-cased by Deno.serve). */
  headers: [string, string][];
  body: Uint8Array;
  text: string;
  /** Head bytes as received. */
  head: string;
}

const enc = new TextEncoder();

export class RawClient {
  private buf: Uint8Array = new Uint8Array(0);
  private readonly chunk = new Uint8Array(65536);
  closed = false;

  private constructor(readonly conn: Deno.TcpConn) {}

  static async connect(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname, port }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  private async more(): Promise<boolean> {
    const n = await this.conn.read(this.chunk);
    if (n === null) return false;
    const next = new Uint8Array(this.buf.length + n);
    next.set(this.buf);
    next.set(this.chunk.subarray(0, n), this.buf.length);
    this.buf = next;
    return true;
  }

  /** Reads until EOF; true when the peer closed (false if data arrived instead). */
  async waitClosed(): Promise<boolean> {
    try {
      return !(await this.more());
    } catch {
      return true;
    }
  }

  /** Reads one response. `head: true` for a HEAD request (no body). */
  async response(opts: { headRequest?: boolean } = {}): Promise<RawResponse> {
    let end;
    while ((end = headEnd(this.buf)) === -1) {
      if (!(await this.more())) throw new Error(`connection closed before a response head`);
    }
    const head = latin1(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(end);
    const lines = head.split("\r\n").filter((l) => l !== "");
    const statusLine = lines[0];
    const status = Number(statusLine.split(" ")[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    });
    const get = (n: string) => headers.find(([k]) => k === n)?.[1];
    let body: Uint8Array = new Uint8Array(0);
    if (opts.headRequest || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      // no body
    } else if (get("transfer-encoding")?.includes("chunked")) {
      const parts: Uint8Array[] = [];
      let pos = 0;
      for (;;) {
        let lf;
        while ((lf = this.buf.indexOf(10, pos)) === -1) {
          if (!(await this.more())) throw new Error("closed mid chunked body");
        }
        const size = parseInt(latin1(this.buf.subarray(pos, lf)).trim(), 16);
        pos = lf + 1;
        if (size === 0) {
          for (;;) {
            let lf2;
            while ((lf2 = this.buf.indexOf(10, pos)) === -1) {
              if (!(await this.more())) throw new Error("closed in trailers");
            }
            const line = latin1(this.buf.subarray(pos, lf2)).trim();
            pos = lf2 + 1;
            if (line === "") break;
          }
          break;
        }
        while (this.buf.length < pos + size + 2) {
          if (!(await this.more())) throw new Error("closed mid chunk");
        }
        parts.push(this.buf.slice(pos, pos + size));
        pos += size + 2;
      }
      this.buf = this.buf.subarray(pos);
      const total = parts.reduce((n, p) => n + p.length, 0);
      body = new Uint8Array(total);
      let o = 0;
      for (const p of parts) {
        body.set(p, o);
        o += p.length;
      }
    } else if (get("content-length") !== undefined) {
      const n = Number(get("content-length"));
      while (this.buf.length < n) {
        if (!(await this.more())) throw new Error("closed mid body");
      }
      body = this.buf.slice(0, n);
      this.buf = this.buf.subarray(n);
    } else {
      while (await this.more()) { /* until close */ }
      body = this.buf;
      this.buf = new Uint8Array(0);
    }
    return { status, statusLine, headers, body, text: new TextDecoder().decode(body), head };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

function headEnd(b: Uint8Array): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** One request on a fresh connection; returns the response and closes. */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  opts: { headRequest?: boolean } = {},
): Promise<RawResponse> {
  const c = await RawClient.connect(port);
  try {
    await c.send(request);
    return await c.response(opts);
  } finally {
    c.close();
  }
}
