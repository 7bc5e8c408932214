// The relay of one WebSocket tunnel after the backend's 101 went to the client: a byte pipe
// both ways between the client socket and the backend socket, as HAProxy does (it does not
// parse frames after the upgrade). Each direction is a read -> write-all loop with one reusable
// buffer: it does not read again before its write finished, so TCP backpressure goes end to end
// (a slow client slows the backend down and the other way round).
//
// A small incremental RFC 6455 frame scanner walks the frame headers of each direction (no
// unmasking, no copy) to count messages and payload bytes, to notice close frames passing and
// to know whether a direction is at a frame boundary (the only place where wtproxy may put a
// close frame of its own: 1011 to the client when the backend vanishes, 1001 both ways on a
// proxy stop or an idle timeout). Frames are not policed: on garbage the scanner stops (the
// bytes keep flowing; no counting, no close frame of ours in that direction any more).
//
// Memory of an idle tunnel: the Tunnel (its own watchdog), two Pipes, and two pending reads
// into 512-byte slots of shared slabs (net/slots.ts); no async function frame waits on them
// (a read's outcome goes to a callback made once per pipe). A buffer grows (up to 64 KiB)
// when reads fill it and goes back to a slot when a burst is over (see next()).
// No timer nor abort listener per tunnel: the idle timeout and the close grace ride on the
// shared watchdog sweep, and one listener per stop signal stops all its tunnels.

import type { Counters } from "../state.ts";
import { closeFrame } from "./frame.ts";
import { Watchdog } from "../net/watchdog.ts";
import { CLOSED, CLOSING, ENDING, OPEN, Pipe } from "./pipe.ts";
import type { ServerStream, StreamSlot } from "../proxy/sessions.ts";

export interface WsLimits {
  /**
   * How long a tunnel waits, once it has sent its own close frames (idle timeout, proxy stop)
   * or once both close frames went through, for the peers to close before it closes the
   * sockets itself. Default 2000 ms.
   */
  closeGraceMs: number;
}

export const DEFAULT_LIMITS: WsLimits = { closeGraceMs: 2000 };

export interface TunnelOptions {
  /** The client socket (taken over from the HTTP server after the 101 was written). */
  client: Deno.Conn;
  /** Bytes the client sent past its request head (first frames), in order. */
  clientBuffered: Uint8Array;
  /** Written to the client before anything else (the 101 head; not counted as relayed). */
  clientHead?: Uint8Array;
  /** A read of the client socket still in flight when the tunnel starts (see takeOver()). */
  clientPending?: Promise<Uint8Array | null> | null;
  /** The backend socket. */
  backend: Deno.Conn;
  /** Bytes the backend sent past its 101 head (the backend may speak first), in order. */
  backendBuffered: Uint8Array;
  /** Inactivity timeout (traffic either way resets it) and the termination it logs. */
  idle: { ms: number; termination: string } | null;
  limits: WsLimits;
  /** Moved: wsOpen, wsTotal, wsMessagesIn/Out, wsBytesIn/Out, bytesIn/Out (payload bytes). */
  counters: Counters[];
  /** Aborting it ends the tunnel: close 1001 both ways, logged KD--. */
  signal?: AbortSignal;
  /** Where the tunnel registers to be cut when its server goes DOWN (serverDown()). */
  downSlot?: StreamSlot;
  /**
   * Called once when the tunnel is over (its end decided: the sockets may close up to
   * limits.closeGraceMs later); `bytesToClient` counts the bytes relayed to the client after
   * the 101 head (a close frame of our own, written after this call, is not counted).
   */
  onEnd(termination: string, bytesToClient: number): void;
  /** Called once when the backend socket has been closed (may come after onEnd, at most
   * limits.closeGraceMs later). */
  onConnClosed(): void;
  /** Called once when the client socket has been closed (frees its maxconn slot). */
  onClientClosed?: () => void;
}

/** Live tunnels, for tests and stats (size = open tunnels). */
export const liveTunnels = new Set<Tunnel>();

/** Tunnels by the signal that stops them: one listener per signal (not one per tunnel). */
const bySignal = new WeakMap<AbortSignal, Set<Tunnel>>();

function watchSignal(signal: AbortSignal, t: Tunnel): void {
  let set = bySignal.get(signal);
  if (set === undefined) {
    const tunnels = set = new Set<Tunnel>();
    bySignal.set(signal, set);
    signal.addEventListener("abort", () => {
      for (const t of [...tunnels]) t.kill();
    }, { once: true });
  }
  set.add(t);
}

function never(): void {}

/** A tunnel is its own watchdog (idle timeout, close grace: see fire()). */
export class Tunnel extends Watchdog implements ServerStream {
  state = OPEN;
  /** client -> backend */
  private readonly up: Pipe;
  /** backend -> client */
  private readonly down: Pipe;
  private readonly client: Deno.Conn;
  private readonly backend: Deno.Conn;
  private readonly counters: Counters[];
  /** The idle timeout's termination; null: no idle timeout. */
  private readonly idleTermination: string | null;
  private readonly graceMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly downSlot: StreamSlot | undefined;
  private readonly onEnd: TunnelOptions["onEnd"];
  private readonly onConnClosed: () => void;
  private readonly onClientClosed: (() => void) | undefined;
  private logged = false;
  private clientClosed = false;
  private backendClosed = false;
  /** The close frame we send when ENDING (1001 stop / idle timeout, 1011 backend lost); 0: none. */
  private closeCode = 0;
  private closeReason = "";

  constructor(opts: TunnelOptions) {
    super(opts.idle?.ms ?? null, never);
    this.client = opts.client;
    this.backend = opts.backend;
    this.counters = opts.counters;
    this.idleTermination = opts.idle?.termination ?? null;
    this.graceMs = opts.limits.closeGraceMs;
    this.signal = opts.signal;
    this.downSlot = opts.downSlot;
    this.onEnd = opts.onEnd;
    this.onConnClosed = opts.onConnClosed;
    this.onClientClosed = opts.onClientClosed;
    this.up = new Pipe(this, opts.client, opts.backend, false);
    this.down = new Pipe(this, opts.backend, opts.client, true);
    for (const c of this.counters) {
      c.wsOpen++;
      c.wsTotal++;
    }
    liveTunnels.add(this);
    if (opts.idle) this.arm();
    if (opts.signal) {
      if (opts.signal.aborted) queueMicrotask(() => this.kill());
      else watchSignal(opts.signal, this);
    }
    opts.downSlot?.add(this);
    this.up.start(opts.clientBuffered, opts.clientPending ?? null);
    this.down.start(opts.backendBuffered, null, opts.clientHead ?? null);
  }

  /** Traffic: resets the idle timeout (not the close grace). */
  activity(): void {
    if (this.state === OPEN) this.touch();
  }

  count(p: Pipe): void {
    const msgs = p.msgs;
    const bytes = p.payload;
    if (msgs === 0 && bytes === 0) return;
    if (p.toClient) {
      for (const c of this.counters) {
        c.wsMessagesOut += msgs;
        c.wsBytesOut += bytes;
        c.bytesOut += bytes;
      }
    } else {
      for (const c of this.counters) {
        c.wsMessagesIn += msgs;
        c.wsBytesIn += bytes;
        c.bytesIn += bytes;
      }
    }
  }

  /** The pipe whose source is the other pipe's destination. */
  private other(p: Pipe): Pipe {
    return p === this.up ? this.down : this.up;
  }

  /** p's source sent EOF (`eof`) or failed (reset). */
  sourceEnded(p: Pipe, eof: boolean): void {
    const o = this.other(p);
    switch (this.state) {
      case CLOSED:
        return;
      case ENDING:
        this.answered(p);
        return;
      case CLOSING:
        this.end("----");
        return;
    }
    if (p.closePassed) {
      // This side closed after its close frame: a clean close. Half-close toward the other
      // side (it may still answer with its own close frame) unless it answered already.
      if (o.closePassed || !eof) {
        this.end("----");
        return;
      }
      this.shutWrite(p);
      return;
    }
    if (p.toClient) this.backendGone();
    else this.end("CD--");
  }

  /** Writing to p's destination failed: that side is gone. */
  destinationFailed(p: Pipe): void {
    if (this.state === CLOSED) return;
    if (this.state === ENDING) {
      p.dstShut = true;
      this.checkAnswered();
      return;
    }
    if (this.state === CLOSING) {
      this.end("----");
      return;
    }
    const o = this.other(p);
    if (o.closePassed) {
      this.end("----"); // it said goodbye before going
      return;
    }
    if (p.toClient) this.end("CD--");
    else this.backendGone();
  }

  /** p's close frame went through to the other side. */
  closeWentThrough(p: Pipe): void {
    if (this.state !== OPEN) return;
    const o = this.other(p);
    if (!o.closePassed) return;
    // Both close frames passed: either side closing ends the tunnel; if one already closed
    // (half-closed), now is the time.
    if (o.ended || p.ended) {
      this.end("----");
      return;
    }
    this.state = CLOSING;
    this.arm(this.graceMs);
  }

  /** Closes dst's write side after src's EOF (a clean close under way). */
  private shutWrite(p: Pipe): void {
    p.dstShut = true;
    p.dst.closeWrite().catch(() => {});
  }

  /** The backend disappeared without a close frame: 1011 to the client when possible. */
  private backendGone(): void {
    this.cut("SD--", 1011, "backend connection lost");
  }

  /**
   * on-marked-down shutdown-sessions: the server went DOWN. The backend socket is closed now
   * and the client gets close 1001 ("going away", RFC 6455's own example: "a server going
   * down") when a frame boundary allows: a browser then reconnects, and the push channel is
   * routed to a live server. Logged DD--.
   */
  serverDown(): void {
    if (this.state === OPEN) this.cut("DD--", 1001, "server down");
    else if (this.state === CLOSING) this.end("----"); // both close frames went through
  }

  /**
   * Closes the backend now; the client gets our close frame `code` if the backend->client
   * direction is at a frame boundary (then its socket closes), else both close at once.
   */
  private cut(termination: string, code: number, reason: string): void {
    const d = this.down;
    if (!d.writing && d.atBoundary && !d.closePassed && !d.dstShut) {
      this.finish(termination);
      this.state = ENDING;
      this.closeCode = code;
      this.closeReason = reason;
      this.up.dstShut = true;
      this.backendClose();
      this.arm(this.graceMs);
      this.inject(d).then(() => this.closeAll());
      return;
    }
    this.end(termination);
  }

  /** Logs and closes both sockets now. */
  private end(termination: string): void {
    this.finish(termination);
    this.closeAll();
  }

  /** The watchdog: idle timeout (OPEN) or the end of a close grace. */
  override fire(): void {
    this.disarm();
    switch (this.state) {
      case OPEN:
        if (this.idleTermination !== null) this.stop(this.idleTermination, "idle timeout");
        return;
      case CLOSING:
        this.end("----");
        return;
      case ENDING:
        this.closeAll();
        return;
    }
  }

  /** Ends the tunnel from outside (proxy stop): close 1001 both ways, logged KD--. */
  kill(): void {
    if (this.state === OPEN) this.stop("KD--", "proxy shutting down");
    else if (this.state === CLOSING) this.end("----");
  }

  /** Close frames 1001 both ways where a frame boundary allows, then close after the grace. */
  private stop(termination: string, reason: string): void {
    this.finish(termination);
    this.state = ENDING;
    this.closeCode = 1001;
    this.closeReason = reason;
    this.arm(this.graceMs);
    this.afterWrite(this.down);
    this.afterWrite(this.up);
    this.checkAnswered();
  }

  /** ENDING: our close frame goes to p's destination as soon as p is idle at a boundary. */
  afterWrite(p: Pipe): void {
    if (this.state !== ENDING || this.closeCode === 0 || p.writing || p.injected) return;
    // Not when that side got a close frame already (relayed), nor mid-frame.
    if (p.dstShut || p.closePassed || !p.atBoundary) return;
    this.inject(p);
  }

  /** Writes our close frame to p's destination (masked toward the backend). */
  private async inject(p: Pipe): Promise<void> {
    p.injected = true;
    p.writing = true;
    try {
      const frame = closeFrame(this.closeCode, this.closeReason, !p.toClient);
      let off = 0;
      while (off < frame.length) off += await p.dst.write(frame.subarray(off));
      p.written += frame.length;
    } catch {
      p.dstShut = true;
    }
    p.writing = false;
    this.checkAnswered();
  }

  /** ENDING: p's source answered our close frame (or sent one) or closed. */
  answered(p: Pipe): void {
    p.closePassed = true;
    this.checkAnswered();
  }

  /** ENDING: both sides are done (closed, or sent their close frame): close now. */
  private checkAnswered(): void {
    if (this.state !== ENDING) return;
    // A side is done when it closed or sent its close frame, and nothing is being written
    // to it (our close frame included).
    const up = this.up;
    const down = this.down;
    if (
      (up.ended || up.closePassed) && !down.writing && (down.ended || down.closePassed) &&
      !up.writing
    ) {
      this.closeAll();
    }
  }

  /** Logs the tunnel's end, once. */
  private finish(termination: string): void {
    if (this.logged) return;
    this.logged = true;
    if (this.signal) bySignal.get(this.signal)?.delete(this);
    this.downSlot?.delete(this);
    liveTunnels.delete(this);
    for (const c of this.counters) c.wsOpen--;
    try {
      this.onEnd(termination, this.down.written);
    } catch (err) {
      console.error(`wtproxy: tunnel log: ${err}`);
    }
  }

  private backendClose(): void {
    if (this.backendClosed) return;
    this.backendClosed = true;
    try {
      this.backend.close();
    } catch { /* already closed */ }
    try {
      this.onConnClosed();
    } catch (err) {
      console.error(`wtproxy: tunnel release: ${err}`);
    }
  }

  /** Closes both sockets (pending reads and writes then fail and their loops stop). */
  private closeAll(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.disarm();
    if (!this.logged) this.finish("----");
    if (!this.clientClosed) {
      this.clientClosed = true;
      try {
        this.client.close();
      } catch { /* already closed */ }
      try {
        this.onClientClosed?.();
      } catch (err) {
        console.error(`wtproxy: tunnel release: ${err}`);
      }
    }
    this.backendClose();
  }

  /** A bug in the relay: log it, close everything. */
  internalError(err: unknown): void {
    console.error(`wtproxy: tunnel: ${err instanceof Error ? err.stack : err}`);
    this.end("SD--");
  }
}
