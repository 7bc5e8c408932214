// One direction of a WebSocket tunnel (see relay.ts): reads its source into a slot (or a larger
// buffer during a burst), scans the frame headers as they pass (counting messages, noticing
// close frames and frame boundaries), and writes everything to its destination before reading
// again.

import { OP_CLOSE } from "./frame.ts";
import { freeNow, giveSlot, SLOT, takeSlot } from "../net/slots.ts";
import type { Tunnel } from "./relay.ts";

const EMPTY = new Uint8Array(0);

/** Largest read buffer. */
const LARGE = 64 * 1024;
/** A read that fills its buffer makes the next one this many times larger. */
const GROW = 8;

// Scanner states.
const FRAME_START = 0;
const SECOND_BYTE = 1;
const HEADER_REST = 2;
const PAYLOAD = 3;

// Tunnel states.

/** Relaying both ways. */
export const OPEN = 0;
/** Both close frames went through: waiting (closeGraceMs at most) for a side to close. */
export const CLOSING = 1;
/** Over (logged); our close frames may be on their way, sockets close at the latest after
 * closeGraceMs. */
export const ENDING = 2;
/** Sockets closed. */
export const CLOSED = 3;

/**
 * One direction: reads `src`, scans the frames, writes everything to `dst`.
 * The scanner's state lives here as plain numbers (no object per frame).
 */
export class Pipe {
  /** The read buffer: a slot while reads are small (see net/slots.ts), larger in a burst. */
  buf: Uint8Array = takeSlot();
  /** A write to dst is in flight. */
  writing = false;
  /** The source ended (EOF or error): this pipe's loop is over. */
  ended = false;
  /** dst's write side was shut (closeWrite) or must not be written any more. */
  dstShut = false;
  /** Bytes written to dst (relayed and our own). */
  written = 0;
  /** A close frame from src went through (completely scanned and written). */
  closePassed = false;
  /** Our own close frame was written to dst. */
  injected = false;
  // ---- scanner ----
  /** Garbage seen: no more scanning (and no boundary known). */
  broken = false;
  /** Where the scanner is: FRAME_START, SECOND_BYTE, HEADER_REST or PAYLOAD. */
  hs = FRAME_START;
  /** First header byte of the frame being read. */
  b0 = 0;
  /** Header bytes still expected after the second one (extended length, mask key). */
  hdrLeft = 0;
  /** Extended length bytes still expected. */
  extLeft = 0;
  /** Payload length being assembled from the header. */
  len = 0;
  /** Payload bytes left in the current frame. */
  remaining = 0;
  /** Opcode of the current frame. */
  op = 0;
  /** A fragmented data message is open (its continuation frames are expected). */
  inMessage = false;
  /** A close frame was completely scanned in the last chunk (not yet written). */
  closeScanned = false;
  // Per chunk, for the counters.
  msgs = 0;
  payload = 0;

  constructor(
    readonly t: Tunnel,
    readonly src: Deno.Conn,
    readonly dst: Deno.Conn,
    /** dst is the client (backend -> client direction). */
    readonly toClient: boolean,
  ) {}

  /** At a frame boundary: a frame of our own may be written to dst now (a control frame may
   * go between the fragments of a message). */
  get atBoundary(): boolean {
    return !this.broken && this.hs === FRAME_START;
  }

  /** Walks the frame headers of buf[0..n); counts messages and payload bytes. */
  scan(buf: Uint8Array, n: number): void {
    this.msgs = 0;
    this.payload = 0;
    if (this.broken) return;
    let i = 0;
    while (i < n) {
      switch (this.hs) {
        case PAYLOAD: {
          const take = this.remaining < n - i ? this.remaining : n - i;
          this.remaining -= take;
          i += take;
          if (this.op < 8) this.payload += take;
          if (this.remaining === 0) this.frameEnd();
          break;
        }
        case FRAME_START:
          this.b0 = buf[i++];
          this.hs = SECOND_BYTE;
          break;
        case SECOND_BYTE: {
          const b = buf[i++];
          const masked = (b & 0x80) !== 0;
          // Client frames are masked, server frames are not (RFC 6455 §5.1).
          if (masked === this.toClient) {
            this.garbage();
            return;
          }
          const len7 = b & 0x7f;
          this.extLeft = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
          this.len = this.extLeft === 0 ? len7 : 0;
          this.hdrLeft = this.extLeft + (masked ? 4 : 0);
          if (this.hdrLeft === 0) {
            if (!this.headerDone()) return;
          } else this.hs = HEADER_REST;
          break;
        }
        default: {
          const b = buf[i++];
          if (this.extLeft > 0) {
            // A 64-bit length beyond 2^53 is not a real frame.
            if ((this.extLeft === 8 && b !== 0) || (this.extLeft === 7 && b > 0x1f)) {
              this.garbage();
              return;
            }
            this.len = this.len * 256 + b;
            this.extLeft--;
          }
          if (--this.hdrLeft === 0 && !this.headerDone()) return;
        }
      }
    }
  }

  /** The header is complete: checks it, then starts the payload. False on garbage. */
  private headerDone(): boolean {
    const b0 = this.b0;
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const len = this.len;
    // No extension is ever negotiated: RSV bits are garbage, as are unknown opcodes.
    if (b0 & 0x70) return this.garbage();
    if (op >= 8) {
      if (op > 0xa || !fin || len > 125) return this.garbage();
    } else if (op > 2 || (op === 0) !== this.inMessage) return this.garbage();
    else {
      this.inMessage = !fin;
      if (fin) this.msgs++;
    }
    this.op = op;
    this.remaining = len;
    this.hs = PAYLOAD;
    if (len === 0) this.frameEnd();
    return true;
  }

  private frameEnd(): void {
    this.hs = FRAME_START;
    if (this.op === OP_CLOSE) this.closeScanned = true;
  }

  private garbage(): false {
    this.broken = true;
    return false;
  }

  /**
   * Starts the direction: `prefix` (written first), `first` (bytes read before the tunnel),
   * `pending` (a read started before it), then the read loop. This frame ends there: an idle
   * tunnel keeps no async function waiting, only its reads and their callback.
   */
  async start(
    first: Uint8Array,
    pending: Promise<Uint8Array | null> | null = null,
    prefix: Uint8Array | null = null,
  ): Promise<void> {
    const t = this.t;
    try {
      if (prefix !== null) {
        this.writing = true;
        try {
          let off = 0;
          while (off < prefix.length) off += await this.dst.write(prefix.subarray(off));
        } catch {
          this.writing = false;
          this.stop();
          t.destinationFailed(this);
          return;
        }
        this.writing = false;
      }
      if (first.length > 0 && !(await this.pass(first, first.length))) return;
      if (pending !== null) {
        const more = await pending;
        if (more === null) return this.sourceEnded(true);
        if (more.length > 0) {
          t.activity();
          if (!(await this.pass(more, more.length))) return;
        }
      }
    } catch (err) {
      return this.crashed(err);
    }
    this.read();
  }

  /** One read into buf; onRead takes its outcome (one callback for both: one closure less). */
  private read(): void {
    this.src.read(this.buf).then(this.onRead, this.onRead);
  }

  /** A byte count, null at EOF, or the read's error. */
  private readonly onRead = (n: unknown): void => {
    if (typeof n !== "number") return this.sourceEnded(n === null);
    this.t.activity();
    this.pass(this.buf, n, true);
  };

  /** After buf[0..n) was relayed: the next read, into a buffer fit for what came. */
  private next(buf: Uint8Array, n: number): void {
    // Full read: more is coming, read bigger. Back to a slot after a read that did not fill
    // the first step (a message of a few KB is over: the tunnel may now idle for minutes) or
    // used less than a quarter of a larger buffer (a bulk transfer slowed to a trickle).
    if (n === buf.length) {
      if (buf.length < LARGE) this.setBuf(new Uint8Array(Math.min(buf.length * GROW, LARGE)));
    } else if (buf.length > SLOT && (buf.length <= SLOT * GROW || n < buf.length >>> 2)) {
      this.setBuf(takeSlot());
    }
    this.read();
  }

  /** Replaces buf (no read pending into it, no write of it pending). */
  private setBuf(b: Uint8Array): void {
    const old = this.buf;
    this.buf = b;
    // A slot goes back to the free list; a larger buffer is freed now (not at the next GC).
    if (old.length === SLOT) giveSlot(old);
    else freeNow(old);
  }

  /** The loop is over (no read pending, nothing of buf being written). */
  private stop(): void {
    this.setBuf(EMPTY);
  }

  private sourceEnded(eof: boolean): void {
    this.ended = true;
    this.stop();
    this.t.sourceEnded(this, eof);
  }

  /** Nothing may escape a tunnel (an unhandled rejection ends the process). */
  private crashed(err: unknown): void {
    this.ended = true;
    this.stop();
    this.t.internalError(err);
  }

  /**
   * Scans, counts and writes buf[0..n). False when this pipe must stop (its loop is then over);
   * `loop`: buf is the read buffer, and the next read follows. Never rejects.
   */
  private async pass(buf: Uint8Array, n: number, loop = false): Promise<boolean> {
    const t = this.t;
    try {
      this.closeScanned = false;
      this.scan(buf, n);
      t.count(this);
      if (t.state >= ENDING || this.dstShut) {
        // Over: reads only watch for the peer's close frame (answering ours) or its EOF.
        if (this.closeScanned) t.answered(this);
      } else {
        this.writing = true;
        try {
          let off = 0;
          while (off < n) {
            off += await this.dst.write(
              off === 0 && n === buf.length ? buf : buf.subarray(off, n),
            );
          }
        } catch {
          this.writing = false;
          this.stop();
          t.destinationFailed(this);
          return false;
        }
        this.writing = false;
        this.written += n;
        if (this.closeScanned) {
          this.closePassed = true;
          t.closeWentThrough(this);
        }
        if (t.state >= ENDING) t.afterWrite(this);
      }
      if (t.state === CLOSED) {
        this.stop();
        return false;
      }
      if (loop) this.next(buf, n);
      return true;
    } catch (err) {
      this.crashed(err);
      return false;
    }
  }
}
