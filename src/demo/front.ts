// The demo server's socket front. Deno.serve never hands a handler the raw socket, and Wt's
// WebSocket behaviour needs it: given `Accept-Encoding: gzip` on the upgrade, Wt answers
// `101` with `Content-Encoding: gzip` and gzips the whole byte stream after it (measured with
// Wt 4.14; browsers then fail the socket with "Invalid frame header"). So the public port is a
// Deno.listen listener: a connection whose first request is a WebSocket upgrade is served here
// (push.ts speaks RFC 6455 itself), every other connection is piped to the Deno.serve server
// on a private loopback port.

const MAX_HEAD = 64 * 1024;

/** The first request head of a connection, as the front reads it. */
export interface RawHead {
  method: string;
  target: string;
  headers: Headers;
}

/** Serves one upgrade connection (owns `conn` from here on; `rest` = bytes after the head). */
export type UpgradeHandler = (conn: Deno.TcpConn, head: RawHead, rest: Uint8Array) => void;

export interface Front {
  readonly port: number;
  readonly hostname: string;
  /** Closes the listener and every connection (as a process that dies), then the inner server. */
  stop(): Promise<void>;
}

function headEnd(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

function parseHead(text: string): RawHead | null {
  const lines = text.split("\r\n");
  const m = /^(\S+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!m) return null;
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const c = line.indexOf(":");
    if (c <= 0) return null;
    try {
      headers.append(line.slice(0, c).trim(), line.slice(c + 1).trim());
    } catch {
      return null;
    }
  }
  return { method: m[1], target: m[2], headers };
}

function isUpgrade(h: RawHead): boolean {
  return /\bupgrade\b/i.test(h.headers.get("connection") ?? "") &&
    /\bwebsocket\b/i.test(h.headers.get("upgrade") ?? "");
}

async function copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } catch { /* either side gone */ }
  await to.closeWrite().catch(() => {}); // closed already
}

/** Listens on hostname:port; upgrades go to `onUpgrade`, the rest to innerPort. */
export function startFront(
  hostname: string,
  port: number,
  innerPort: number,
  onUpgrade: UpgradeHandler,
): Front {
  const listener = Deno.listen({ hostname, port });
  const open = new Set<Deno.Conn>();
  const close = (c: Deno.Conn) => {
    open.delete(c);
    try {
      c.close();
    } catch { /* closed */ }
  };

  const serve = async (conn: Deno.TcpConn) => {
    open.add(conn);
    const buf = new Uint8Array(MAX_HEAD);
    let len = 0;
    let end = -1;
    try {
      while (end === -1 && len < MAX_HEAD) {
        const n = await conn.read(buf.subarray(len));
        if (n === null) break;
        len += n;
        end = headEnd(buf, len);
      }
    } catch { /* reset */ }
    if (len === 0) return close(conn); // a TCP health check, or nothing
    const head = end === -1 ? null : parseHead(new TextDecoder().decode(buf.subarray(0, end - 4)));
    if (head && isUpgrade(head)) {
      open.delete(conn); // the upgrade handler owns it; it registers its own cleanup
      tracked(conn);
      return onUpgrade(conn, head, buf.slice(end, len));
    }
    let inner: Deno.TcpConn;
    try {
      inner = await Deno.connect({ hostname: "127.0.0.1", port: innerPort });
    } catch {
      return close(conn);
    }
    open.add(inner);
    try {
      await inner.write(buf.subarray(0, len));
    } catch { /* inner gone: the copies end */ }
    await Promise.all([copy(conn, inner), copy(inner, conn)]);
    close(conn);
    close(inner);
  };
  // Upgrade connections are closed on stop too (their handler may have closed them already).
  const tracked = (conn: Deno.Conn) => open.add(conn);

  (async () => {
    try {
      for await (const conn of listener) serve(conn).catch(() => close(conn));
    } catch { /* listener closed */ }
  })();

  const addr = listener.addr as Deno.NetAddr;
  return {
    port: addr.port,
    hostname: addr.hostname,
    // deno-lint-ignore require-await
    async stop() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of [...open]) close(c);
    },
  };
}
