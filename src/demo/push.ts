// The demo server's WebSocket push channel, as Wt opens it: `GET /?wtd=<id>&request=ws` with an
// RFC 6455 upgrade. A known session gets a tick every second, the first one the moment the
// socket opens (Wt speaks first too); an unknown session gets 403 (Wt refuses it the same way).
// installPush() also appends a small client to the boot script so the page shows the ticks.

import zlib from "node:zlib";
import { acceptFor } from "../ws/handshake.ts";
import type { RawHead } from "./front.ts";
import type { RequestHandler, Session, WtServerInfo } from "./wtserver.ts";

/** Milliseconds between ticks. */
export const TICK_MS = 1000;

export function installPush(handlers: Map<string, RequestHandler>): void {
  handlers.set("ws", ({ req, session, wtd, server }) => {
    if (!session) {
      server.log(`WebSocket for unknown session ${wtd ?? "(none)"}: 403`);
      return new Response("unknown session\n", { status: 403 });
    }
    if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return new Response("WebSocket upgrade expected\n", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    let tick = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const send = () => {
      if (socket.readyState !== WebSocket.OPEN) return;
      session.lastSeen = Date.now();
      socket.send(JSON.stringify({ tick: tick++, server: server.prefix, session: session.id }));
    };
    socket.onopen = () => {
      send();
      timer = setInterval(send, TICK_MS);
    };
    socket.onmessage = () => {
      session.lastSeen = Date.now(); // Wt's client pings arrive as messages
    };
    socket.onclose = () => clearInterval(timer);
    socket.onerror = () => {};
    return response;
  });

  // The page's boot script gets the push client appended.
  const script = handlers.get("script");
  if (!script) return;
  handlers.set("script", async (r) => {
    const res = await script(r);
    if (!r.session || !res.ok) return res;
    return new Response((await res.text()) + pushClient(r.session.id), {
      status: res.status,
      headers: res.headers,
    });
  });
}

const enc = new TextEncoder();

/** An unmasked server frame. */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head);
  return out;
}

/**
 * The push channel on the raw socket (the front's upgrade path), as Wt serves it: an unknown
 * session gets 403; given `Accept-Encoding: gzip` the 101 says `Content-Encoding: gzip` and
 * every byte after it goes through one gzip stream (sync-flushed per frame), which no browser
 * can read: the proxy must not forward Accept-Encoding on an upgrade.
 */
export async function servePushSocket(
  conn: Deno.TcpConn,
  head: RawHead,
  rest: Uint8Array,
  server: WtServerInfo,
  session: Session | undefined,
): Promise<void> {
  let writing = Promise.resolve();
  let closed = false;
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const write = (b: Uint8Array) => {
    writing = writing.then(async () => {
      if (closed) return;
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    }).catch(end);
    return writing;
  };
  const refuse = async (status: string, body: string) => {
    await write(enc.encode(
      `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n` +
        `connection: close\r\n\r\n${body}`,
    ));
    end();
  };
  let timer: ReturnType<typeof setInterval> | undefined = undefined;
  const wtd = new URLSearchParams(head.target.split("?")[1] ?? "").get("wtd");
  if (!session) {
    server.log(`WebSocket for unknown session ${wtd ?? "(none)"}: 403`);
    return await refuse("403 Forbidden", "unknown session\n");
  }
  const key = head.headers.get("sec-websocket-key");
  if (!key || head.headers.get("sec-websocket-version") !== "13") {
    return await refuse("400 Bad Request", "WebSocket handshake expected\n");
  }
  const gzip = /\bgzip\b/i.test(head.headers.get("accept-encoding") ?? "");
  await write(enc.encode(
    "HTTP/1.1 101 Switching Protocol\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${await acceptFor(key)}\r\n` +
      (gzip ? "Content-Encoding: gzip\r\n" : "") + "\r\n",
  ));
  let send: (f: Uint8Array) => void = (f) => void write(f);
  if (gzip) {
    const gz = zlib.createGzip();
    gz.on("data", (d: Uint8Array) => void write(new Uint8Array(d)));
    gz.on("error", end);
    send = (f) => {
      if (closed) return;
      gz.write(f);
      gz.flush(zlib.constants.Z_SYNC_FLUSH, () => {});
    };
  }
  let tick = 0;
  const push = () => {
    session.lastSeen = Date.now();
    const m = JSON.stringify({ tick: tick++, server: server.prefix, session: session.id });
    send(frame(0x1, enc.encode(m)));
  };
  push();
  timer = setInterval(push, TICK_MS);
  // Client frames (masked): pings answered, a close echoed, anything else keeps the session.
  let buf = rest;
  const chunk = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      while (buf.length >= 2) {
        const op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = (buf[2] << 8) | buf[3];
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(2));
          at = 10;
        }
        const masked = (buf[1] & 0x80) !== 0;
        if (buf.length < at + (masked ? 4 : 0) + len) break;
        const mask = masked ? buf.subarray(at, at + 4) : null;
        at += masked ? 4 : 0;
        const payload = buf.slice(at, at + len);
        if (mask) { for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3]; }
        buf = buf.subarray(at + len);
        session.lastSeen = Date.now();
        if (op === 0x8) {
          send(frame(0x8, payload.subarray(0, 2)));
          await writing;
          return end();
        }
        if (op === 0x9) send(frame(0xa, payload));
      }
      const n = await conn.read(chunk);
      if (n === null) break;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    }
  } catch { /* reset */ }
  end();
}

function pushClient(sessionId: string): string {
  return `
(() => {
const p = document.createElement("p");
p.innerHTML = 'Push over WebSocket: <b id="push">connecting…</b>';
(document.getElementById("updates")?.closest("p") ?? document.body).after(p);
const out = document.getElementById("push");
function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    location.pathname + "?wtd=" + encodeURIComponent(${JSON.stringify(sessionId)}) + "&request=ws";
  const ws = new WebSocket(url);
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    out.textContent = "tick " + m.tick + " from " + m.server;
  };
  ws.onclose = (e) => {
    out.textContent = "closed (" + e.code + (e.reason ? " " + e.reason : "") + "), reconnecting…";
    setTimeout(connect, 2000);
  };
}
connect();
})();
`;
}
