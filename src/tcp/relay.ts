// The byte tunnel of one `mode tcp` session: client <-> server, each direction a
// read -> write-all loop with one reusable buffer (backpressure end to end, as the WebSocket
// tunnel does), no parsing. Half-close is relayed: a FIN from one side shuts the write side
// toward the other (closeWrite) and the other direction keeps flowing until it ends too.
//
// Inactivity (HAProxy's timeouts, one shared watchdog sweep, no timer per session): traffic
// either way resets it; the limit is `timeout tunnel` when set, else the smaller of
// `timeout client` / `timeout server`; once one direction is shut, `timeout client-fin` /
// `server-fin` take over where set. It ends the session cD (client side) or sD (server side).

import type { Counters } from "../state.ts";
import { Watchdog } from "../net/watchdog.ts";

export interface TcpTimeouts {
  client: number | null;
  server: number | null;
  tunnel: number | null;
  clientFin: number | null;
  serverFin: number | null;
}

export interface TcpTunnelOptions {
  client: Deno.Conn;
  /** Bytes the client sent before the tunnel (read during inspection), forwarded first. */
  clientBuffered: Uint8Array;
  /** A client read still in flight when the inspection ended (its bytes come next). */
  clientPending?: Promise<Uint8Array | null> | null;
  server: Deno.Conn;
  timeouts: TcpTimeouts;
  /** bytesIn (client -> server) and bytesOut (server -> client) are moved on each. */
  counters: Counters[];
  /** Called once, when both sockets are closed: termination (2 chars + "--"), bytes to client. */
  onEnd(termination: string, bytesToClient: number, bytesFromClient: number): void;
}

const SMALL = 2048;
const LARGE = 64 * 1024;

/** Live TCP tunnels (tests, stats). */
export const liveTcpTunnels = new Set<TcpTunnel>();

class Half {
  buf = new Uint8Array(SMALL);
  /** The source sent FIN (or failed): this direction is over. */
  ended = false;
  bytes = 0;
  constructor(
    readonly t: TcpTunnel,
    readonly src: Deno.Conn,
    readonly dst: Deno.Conn,
    readonly toClient: boolean,
  ) {}

  async run(first: Uint8Array, pending: Promise<Uint8Array | null> | null): Promise<void> {
    const t = this.t;
    try {
      if (first.length > 0 && !(await this.write(first, first.length))) return;
      if (pending !== null) {
        const more = await pending;
        if (t.closed) return;
        if (more === null) return t.eof(this);
        t.activity();
        if (more.length > 0 && !(await this.write(more, more.length))) return;
      }
      for (;;) {
        let n: number | null;
        try {
          n = await this.src.read(this.buf);
        } catch {
          n = -1;
        }
        if (t.closed) return;
        if (n === null) return t.eof(this);
        if (n < 0) return t.fail(this.toClient ? "S" : "C");
        t.activity();
        if (!(await this.write(this.buf, n))) return;
        const size = this.buf.length;
        if (n === size && size < LARGE) this.buf = new Uint8Array(size * 8);
        else if (size > SMALL && n < size >>> 2) this.buf = new Uint8Array(SMALL);
      }
    } catch (err) {
      t.internalError(err);
    }
  }

  private async write(buf: Uint8Array, n: number): Promise<boolean> {
    const t = this.t;
    try {
      let off = 0;
      while (off < n) off += await this.dst.write(buf.subarray(off, n));
    } catch {
      if (!t.closed) t.fail(this.toClient ? "C" : "S");
      return false;
    }
    this.bytes += n;
    t.count(this.toClient, n);
    return !t.closed;
  }
}

export class TcpTunnel {
  closed = false;
  private readonly up: Half;
  private readonly down: Half;
  private readonly dog: Watchdog;
  /** Which side's timeout the watchdog currently stands for ("c" or "s"). */
  private side: "c" | "s" = "c";

  constructor(private readonly o: TcpTunnelOptions) {
    this.up = new Half(this, o.client, o.server, false);
    this.down = new Half(this, o.server, o.client, true);
    this.dog = new Watchdog(null, () => this.end(this.side + "D--"));
    this.arm(false);
    liveTcpTunnels.add(this);
    this.up.run(o.clientBuffered, o.clientPending ?? null);
    this.down.run(new Uint8Array(0), null);
  }

  /** The inactivity limit for the current state (half-closed or not). */
  private arm(halfClosed: boolean): void {
    const t = this.o.timeouts;
    let c: number | null;
    let s: number | null;
    if (halfClosed) {
      c = t.clientFin ?? t.tunnel ?? t.client;
      s = t.serverFin ?? t.tunnel ?? t.server;
    } else if (t.tunnel !== null) {
      c = s = t.tunnel;
    } else {
      c = t.client;
      s = t.server;
    }
    let ms: number | null = null;
    if (c !== null && (s === null || c <= s)) {
      ms = c;
      this.side = "c";
    } else if (s !== null) {
      ms = s;
      this.side = "s";
    }
    this.dog.arm(ms);
  }

  activity(): void {
    this.dog.touch();
  }

  count(toClient: boolean, n: number): void {
    for (const c of this.o.counters) {
      if (toClient) c.bytesOut += n;
      else c.bytesIn += n;
    }
  }

  /** h's source sent FIN: shut the other side's write half; both done = a clean end. */
  eof(h: Half): void {
    h.ended = true;
    const other = h === this.up ? this.down : this.up;
    if (other.ended) return this.end("----");
    h.dst.closeWrite().catch(() => {});
    this.arm(true);
  }

  /** A read or write failed on side `who` ("C" client, "S" server). */
  fail(who: "C" | "S"): void {
    this.end(who + "D--");
  }

  /** Ends the session from outside: `termination` such as "KD--" (stop). */
  kill(termination: string): void {
    this.end(termination);
  }

  /** on-marked-down shutdown-sessions: the server went DOWN. */
  serverDown(): void {
    this.end("DD--");
  }

  internalError(err: unknown): void {
    console.error(`wtproxy: tcp tunnel: ${err instanceof Error ? err.stack : err}`);
    this.end("PD--");
  }

  private end(termination: string): void {
    if (this.closed) return;
    this.closed = true;
    this.dog.disarm();
    liveTcpTunnels.delete(this);
    for (const c of [this.o.client, this.o.server]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    try {
      this.o.onEnd(termination, this.down.bytes, this.up.bytes);
    } catch (err) {
      console.error(`wtproxy: tcp tunnel end: ${err}`);
    }
  }
}
