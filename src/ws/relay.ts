// The relay of one WebSocket tunnel after both handshakes: the client hop is Deno's WebSocket
// (from Deno.upgradeWebSocket; Deno answers the client's pings), the backend hop is our own
// TCP connection speaking RFC 6455 as the client (masked frames, we answer the backend's pings).
//
// Messages are relayed whole (fragments from the backend are reassembled, because Deno's
// WebSocket API sends whole messages); types, close codes and reasons are kept.
// Backpressure:
// - backend -> client: the backend socket is not read while the client's bufferedAmount is
//   above `clientHighWater`, so TCP pushes back on the backend;
// - client -> backend: Deno's WebSocket cannot pause receiving, so what waits for the backend
//   socket is bounded by `maxQueued`; a client that goes beyond it is closed with 1008.

import type { Counters } from "../state.ts";
import {
  closePayload,
  FrameDecoder,
  FrameError,
  isValidCloseCode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  parseClose,
} from "./frame.ts";
import { Watchdog } from "../upstream/watchdog.ts";
import { ConnWriter } from "./writer.ts";

export interface WsLimits {
  /** Largest message accepted from the backend (reassembled), bytes. Default 64 MiB. */
  maxMessage: number;
  /** Client -> backend bytes waiting for the backend socket before the client is closed with 1008. Default 64 MiB. */
  maxQueued: number;
  /** Backend reading pauses while the client's bufferedAmount is above this. Default 1 MiB. */
  clientHighWater: number;
  /** How long to wait for the backend's answer to our close frame. Default 2000 ms. */
  closeGraceMs: number;
  /** How long the upgraded client socket may take to open. Default 10000 ms. */
  openTimeoutMs: number;
}

export const DEFAULT_LIMITS: WsLimits = {
  maxMessage: 64 * 1024 * 1024,
  maxQueued: 64 * 1024 * 1024,
  clientHighWater: 1024 * 1024,
  closeGraceMs: 2000,
  openTimeoutMs: 10000,
};

export interface TunnelOptions {
  /** Client socket from Deno.upgradeWebSocket (not yet open). */
  socket: WebSocket;
  conn: Deno.Conn;
  /** Backend bytes read after the 101 head (the backend may speak first). */
  initial: Uint8Array;
  /** Inactivity timeout (either direction resets it) and the termination it logs. */
  idle: { ms: number; termination: string } | null;
  limits: WsLimits;
  counters: Counters[];
  signal?: AbortSignal;
  /** Called once when the tunnel is over; `bytesToClient` counts frames sent to the client. */
  onEnd(termination: string, bytesToClient: number): void;
  /** Called once when the backend connection has been closed (may come after onEnd, while
   * our close frame waits for the backend's answer, at most closeGraceMs later). */
  onConnClosed(): void;
}

// The read buffer: a tunnel starts with a tiny one (10 000 idle tunnels each hold one pending
// read buffer), grows on full reads (256 -> 1 KiB -> 64 KiB) and falls back to 1 KiB on a trickle.
const FIRST_READ = 256;
const SMALL_READ = 1024;
const LARGE_READ = 64 * 1024;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Size on the wire of an unmasked frame header for this payload length. */
function serverHeaderSize(len: number): number {
  return len < 126 ? 2 : len < 0x10000 ? 4 : 10;
}

/** Live tunnels, for tests and stats (a Set of small objects; size = open tunnels). */
export const liveTunnels = new Set<Tunnel>();

export class Tunnel {
  private readonly socket: WebSocket;
  private readonly conn: Deno.Conn;
  private readonly writer: ConnWriter;
  private readonly decoder: FrameDecoder;
  private readonly counters: Counters[];
  private readonly limits: WsLimits;
  private ended = false;
  private connClosed = false;
  private connClosing = false;
  private closeSentUp = false;
  private closeRecvUp = false;
  private clientClosing = false;
  private termination = "----";
  private bytesToClient = 0;
  /** The inactivity timeout (shared sweep, no timer per tunnel); null without one. */
  private idleDog: Watchdog | null = null;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private reading = false;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private fragOpcode = 0;
  private fragParts: Uint8Array[] = [];
  private fragSize = 0;
  private readonly onAbort = () => this.kill();
  // What the tunnel keeps of its options (not the options object itself).
  private initial: Uint8Array | null;
  private readonly idle: { ms: number; termination: string } | null;
  private readonly signal: AbortSignal | undefined;
  private readonly onEnd: TunnelOptions["onEnd"];
  private readonly onConnClosed: () => void;

  constructor(opts: TunnelOptions) {
    this.initial = opts.initial.length > 0 ? opts.initial : null;
    this.idle = opts.idle;
    this.signal = opts.signal;
    this.onEnd = opts.onEnd;
    this.onConnClosed = opts.onConnClosed;
    this.socket = opts.socket;
    this.conn = opts.conn;
    this.counters = opts.counters;
    this.limits = opts.limits;
    this.writer = new ConnWriter(this.conn, () => this.backendGone());
    this.decoder = new FrameDecoder(
      (fin, op, payload) => this.onFrame(fin, op, payload),
      this.limits.maxMessage,
    );
    for (const c of this.counters) {
      c.wsOpen++;
      c.wsTotal++;
    }
    liveTunnels.add(this);
    const s = this.socket;
    s.binaryType = "arraybuffer";
    // The tunnel itself is the listener (handleEvent): no closure nor on* wrapper per event.
    s.addEventListener("open", this);
    s.addEventListener("message", this);
    s.addEventListener("close", this);
    s.addEventListener("error", this); // onclose follows; keep Deno from reporting it as unhandled
    this.openTimer = setTimeout(() => {
      this.openTimer = undefined;
      if (this.socket.readyState === WebSocket.CONNECTING) this.finish("CD--");
    }, this.limits.openTimeoutMs);
    if (opts.idle) {
      this.idleDog = new Watchdog(opts.idle.ms, () => this.idleFired());
      this.idleDog.arm();
    }
    if (opts.signal) {
      if (opts.signal.aborted) queueMicrotask(this.onAbort);
      else opts.signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  /** Bytes waiting to be written to the backend (for tests and stats). */
  get queuedUpstream(): number {
    return this.writer.queued;
  }

  // ---- client side -------------------------------------------------------------------------

  /** The client socket's events (EventListener object). */
  handleEvent(ev: Event): void {
    switch (ev.type) {
      case "open":
        this.clientOpened();
        return;
      case "message":
        this.clientMessage((ev as MessageEvent<string | ArrayBuffer>).data);
        return;
      case "close": {
        const c = ev as CloseEvent;
        this.clientClosed(c.code, c.reason, c.wasClean);
        return;
      }
    }
  }

  private clientOpened(): void {
    clearTimeout(this.openTimer);
    this.openTimer = undefined;
    if (this.ended) return;
    this.reading = true;
    this.readLoop();
  }

  private clientMessage(data: string | ArrayBuffer): void {
    if (this.ended || this.closeSentUp) return;
    this.idleDog?.touch();
    const w = this.writer;
    let len: number;
    if (typeof data === "string") len = w.text(data);
    else {
      len = data.byteLength;
      w.frame(OP_BINARY, new Uint8Array(data), true);
    }
    if (w.queued > this.limits.maxQueued) {
      // The backend does not keep up and the client cannot be paused: drop the client.
      this.closeClient(1008, "proxy buffer limit reached");
      this.closeConn();
      this.finish("RD--");
      return;
    }
    for (const c of this.counters) {
      c.wsMessagesIn++;
      c.wsBytesIn += len;
      c.bytesIn += len;
    }
  }

  private clientClosed(code: number, reason: string, wasClean: boolean): void {
    if (this.ended) return;
    if (this.clientClosing) {
      this.finish(this.termination);
      return;
    }
    this.clientClosing = true;
    if (code === 1006 || !wasClean) {
      // Gone without a close frame: the backend sees its connection drop the same way.
      this.closeConn();
      this.finish("CD--");
      return;
    }
    this.termination = "----";
    this.sendCloseUp(isValidCloseCode(code) ? code : null, reason);
    this.awaitUpstreamClose();
  }

  /** Closes the client with a code Deno accepts; null = no code (client sees 1005). */
  private closeClient(code: number | null, reason = ""): void {
    if (this.clientClosing) return;
    this.clientClosing = true;
    const s = this.socket;
    if (s.readyState !== WebSocket.OPEN && s.readyState !== WebSocket.CONNECTING) return;
    try {
      if (code === null) s.close();
      else s.close(code, reason);
    } catch {
      try {
        s.close(1011);
      } catch { /* already closing */ }
    }
  }

  // ---- backend side ------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    const s = this.socket;
    const initial = this.initial;
    this.initial = null;
    try {
      if (initial !== null) this.decoder.push(initial);
    } catch (err) {
      this.protocolError(err);
      return;
    }
    let buf = new Uint8Array(FIRST_READ);
    // After the end (idle timeout, shutdown) the loop goes on until the backend answers our
    // close frame or closes, so it gets a clean close handshake (bounded by closeGraceMs).
    while (!this.connClosed && !this.closeRecvUp) {
      if (!this.ended && s.bufferedAmount > this.limits.clientHighWater) {
        await this.clientDrain();
        continue;
      }
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        if (this.ended) this.closeConn();
        else if (!this.connClosed) this.backendGone();
        return;
      }
      if (this.connClosed) return;
      if (n === null) {
        if (this.ended) this.closeConn();
        else this.backendGone();
        return;
      }
      this.idleDog?.touch();
      try {
        this.decoder.push(buf.subarray(0, n));
      } catch (err) {
        if (this.ended) this.closeConn();
        else this.protocolError(err);
        return;
      }
      // A full read means more is coming: read bigger; a trickle: go back to a small buffer.
      if (n === buf.length && buf.length < LARGE_READ) {
        buf = new Uint8Array(buf.length < SMALL_READ ? SMALL_READ : LARGE_READ);
      } else if (n < SMALL_READ && buf.length > SMALL_READ) buf = new Uint8Array(SMALL_READ);
    }
  }

  /** Waits until the client's send buffer is below the low-water mark (or the tunnel ends). */
  private async clientDrain(): Promise<void> {
    const low = this.limits.clientHighWater / 4;
    let wait = 1;
    while (
      !this.ended && this.socket.readyState === WebSocket.OPEN && this.socket.bufferedAmount > low
    ) {
      await new Promise((r) => setTimeout(r, wait));
      if (wait < 16) wait *= 2;
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Uint8Array): void {
    if (this.closeRecvUp) return;
    if (this.ended) {
      // Draining after the end: only the backend's close frame matters now.
      if (opcode === OP_CLOSE) {
        this.closeRecvUp = true;
        this.closeConn();
      }
      return;
    }
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragOpcode !== 0) {
          throw new FrameError(1002, "new message inside a fragmented one");
        }
        if (fin) this.deliver(opcode, payload);
        else {
          this.fragOpcode = opcode;
          this.fragParts = [payload.slice()]; // the decoder's view is only valid now
          this.fragSize = payload.length;
        }
        return;
      case OP_CONT: {
        if (this.fragOpcode === 0) throw new FrameError(1002, "continuation without a message");
        this.fragSize += payload.length;
        if (this.fragSize > this.limits.maxMessage) {
          throw new FrameError(1009, `message exceeds ${this.limits.maxMessage} bytes`);
        }
        this.fragParts.push(payload.slice());
        if (!fin) return;
        const whole = new Uint8Array(this.fragSize);
        let off = 0;
        for (const p of this.fragParts) {
          whole.set(p, off);
          off += p.length;
        }
        const op = this.fragOpcode;
        this.fragOpcode = 0;
        this.fragParts = [];
        this.fragSize = 0;
        this.deliver(op, whole);
        return;
      }
      case OP_PING:
        this.writer.frame(OP_PONG, payload, false);
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        const { code, reason } = parseClose(payload);
        this.backendClosed(code, reason);
        return;
      }
    }
  }

  private deliver(opcode: number, payload: Uint8Array): void {
    const s = this.socket;
    if (s.readyState !== WebSocket.OPEN || this.clientClosing) return;
    if (opcode === OP_TEXT) {
      let text: string;
      try {
        text = strictUtf8.decode(payload);
      } catch {
        throw new FrameError(1007, "text message is not UTF-8");
      }
      s.send(text);
    } else {
      s.send(payload);
    }
    const len = payload.length;
    this.bytesToClient += len + serverHeaderSize(len);
    for (const c of this.counters) {
      c.wsMessagesOut++;
      c.wsBytesOut += len;
      c.bytesOut += len;
    }
  }

  private backendClosed(code: number | null, reason: string): void {
    this.closeRecvUp = true;
    if (this.closeSentUp) {
      // The backend's answer to our close frame: the close handshake is complete.
      this.closeConn();
      this.finish(this.termination);
      return;
    }
    // Backend-initiated: answer it, relay the code to the client, done.
    this.sendCloseUp(code, reason);
    this.closeConnAfterFlush();
    if (code === 1015) code = 1011; // never valid on the wire; kept out of Deno's close()
    this.closeClient(code, reason);
    this.finish("----");
  }

  /** Backend EOF or socket error without a close frame. */
  private backendGone(): void {
    if (this.ended) return;
    if (this.closeSentUp) {
      this.closeConn();
      this.finish(this.termination);
      return;
    }
    this.closeConn();
    this.closeClient(1011, "backend connection lost");
    this.finish("SD--");
  }

  private protocolError(err: unknown): void {
    if (this.ended) return;
    const code = err instanceof FrameError ? err.code : 1011;
    const reason = err instanceof Error ? err.message : String(err);
    if (!this.closeSentUp) this.sendCloseUp(code, reason);
    this.closeConnAfterFlush();
    this.closeClient(code === 1009 ? 1009 : 1011, "backend protocol error");
    this.finish("SD--");
  }

  private sendCloseUp(code: number | null, reason: string): void {
    if (this.closeSentUp || this.connClosed) return;
    this.closeSentUp = true;
    this.writer.frame(OP_CLOSE, closePayload(code, reason), true);
  }

  /** After our close frame: wait for the backend's close frame or EOF, at most closeGraceMs. */
  private awaitUpstreamClose(): void {
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      this.closeConn();
      this.finish(this.termination);
    }, this.limits.closeGraceMs);
  }

  private closeConn(): void {
    if (this.connClosed) return;
    this.connClosed = true;
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.onConnClosed();
  }

  private closeConnAfterFlush(): void {
    if (this.connClosed || this.connClosing) return;
    this.connClosing = true;
    this.writer.flushed().then(() => this.closeConn());
    // A backend that stops reading must not keep the socket: bound the wait.
    const t = setTimeout(() => this.closeConn(), this.limits.closeGraceMs);
    this.writer.flushed().then(() => clearTimeout(t));
  }

  /** We sent a close frame and the tunnel ends: let the read loop see the backend's answer. */
  private drainUpstream(): void {
    if (this.connClosed || this.connClosing) return;
    if (!this.reading) {
      this.closeConnAfterFlush();
      return;
    }
    this.connClosing = true;
    this.drainTimer = setTimeout(() => this.closeConn(), this.limits.closeGraceMs);
  }

  // ---- timers and the end ------------------------------------------------------------------

  /** The watchdog saw no traffic either way for idle.ms. */
  private idleFired(): void {
    const idle = this.idle;
    if (this.ended || !idle) return;
    this.closeClient(1001, "idle timeout");
    this.sendCloseUp(1001, "idle timeout");
    this.drainUpstream();
    this.finish(idle.termination);
  }

  /** Ends the tunnel from outside (proxy shutdown): close frames both ways, logged KD--. */
  kill(): void {
    if (this.ended) return;
    this.closeClient(1001, "proxy shutting down");
    this.sendCloseUp(1001, "proxy shutting down");
    this.drainUpstream();
    this.finish("KD--");
  }

  private finish(termination: string): void {
    if (this.ended) return;
    this.ended = true;
    this.idleDog?.disarm();
    clearTimeout(this.graceTimer);
    clearTimeout(this.openTimer);
    this.signal?.removeEventListener("abort", this.onAbort);
    if (!this.clientClosing) this.closeClient(1011);
    if (!this.connClosing) this.closeConn();
    this.fragParts = [];
    liveTunnels.delete(this);
    for (const c of this.counters) c.wsOpen--;
    this.onEnd(termination, this.bytesToClient);
  }
}
