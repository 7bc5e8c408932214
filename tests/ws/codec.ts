// A full RFC 6455 frame codec for the tests' own clients and backends (the proxy itself only
// scans frame headers): masked encoding (client role), incremental decoding (a frame may
// straddle reads; masked frames are unmasked), close payloads. No extension: any RSV bit is a
// protocol error.

import { OP_BINARY, OP_PONG, putMask } from "../../src/ws/frame.ts";

export {
  closePayload,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  putMask,
  truncateUtf8,
} from "../../src/ws/frame.ts";

/** A protocol violation found while decoding; `code` is the close code to answer with. */
export class FrameError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "FrameError";
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export type FrameHandler = (fin: boolean, opcode: number, payload: Uint8Array) => void;

const HEADER_MAX = 14;

/**
 * Incremental decoder. `push(bytes)` calls `onFrame` synchronously for each complete frame.
 * A payload may be a view into the pushed chunk: it is valid only during the callback (copy
 * it to keep it; Deno's WebSocket send() and TextDecoder copy synchronously).
 * `maxPayload` bounds one frame's payload (bigger frames throw FrameError 1009 before any
 * allocation).
 */
export class FrameDecoder {
  private head = new Uint8Array(HEADER_MAX);
  private headLen = 0;
  private payload: Uint8Array | null = null;
  private filled = 0;
  private fin = false;
  private opcode = 0;
  private mask: Uint8Array | null = null;

  constructor(private onFrame: FrameHandler, private maxPayload: number) {}

  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.payload === null) {
        // Collect the header (2..14 bytes) first.
        const need = this.headLen < 2 ? 2 : this.headerSize();
        if (this.headLen < need) {
          const take = Math.min(need - this.headLen, end - pos);
          const h = this.head;
          for (let k = 0; k < take; k++) h[this.headLen + k] = chunk[pos + k];
          this.headLen += take;
          pos += take;
          if (this.headLen < need) break;
          if (need === 2 && this.headerSize() > 2) continue;
        }
        const len = this.startPayload();
        if (len === 0) continue; // empty payload: already emitted
        if (this.mask === null && end - pos >= len) {
          // The whole payload is in this chunk: hand out a view, no copy.
          pos += len;
          this.onFrame(this.fin, this.opcode, chunk.subarray(pos - len, pos));
          continue;
        }
        this.payload = new Uint8Array(len);
        this.filled = 0;
      }
      const p = this.payload as Uint8Array;
      const take = Math.min(p.length - this.filled, end - pos);
      p.set(chunk.subarray(pos, pos + take), this.filled);
      this.filled += take;
      pos += take;
      if (this.filled === p.length) this.emit(p);
    }
  }

  private headerSize(): number {
    const b1 = this.head[1];
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  /** Checks the collected header; returns the payload length (0: already emitted). */
  private startPayload(): number {
    const h = this.head;
    const b0 = h[0];
    const b1 = h[1];
    if (b0 & 0x70) throw new FrameError(1002, "RSV bit set without a negotiated extension");
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let off = 2;
    if (len === 126) {
      len = (h[2] << 8) | h[3];
      off = 4;
    } else if (len === 127) {
      const hi = ((h[2] << 24) >>> 0) + (h[3] << 16) + (h[4] << 8) + h[5];
      const lo = ((h[6] << 24) >>> 0) + (h[7] << 16) + (h[8] << 8) + h[9];
      if (hi > 0x1fffff) throw new FrameError(1002, "frame length out of range");
      len = hi * 0x100000000 + lo;
      off = 10;
    }
    if (opcode >= 0x8) {
      if (opcode > OP_PONG) throw new FrameError(1002, `unknown opcode ${opcode}`);
      if (!fin) throw new FrameError(1002, "fragmented control frame");
      if (len > 125) throw new FrameError(1002, "control frame longer than 125 bytes");
    } else if (opcode > OP_BINARY) {
      throw new FrameError(1002, `unknown opcode ${opcode}`);
    }
    if (len > this.maxPayload) {
      throw new FrameError(1009, `frame of ${len} bytes exceeds the limit of ${this.maxPayload}`);
    }
    this.fin = fin;
    this.opcode = opcode;
    this.mask = b1 & 0x80 ? h.slice(off, off + 4) : null;
    this.headLen = 0;
    if (len === 0) this.onFrame(fin, opcode, new Uint8Array(0));
    return len;
  }

  private emit(p: Uint8Array): void {
    if (this.mask) applyMask(p, this.mask);
    this.payload = null;
    this.filled = 0;
    this.onFrame(this.fin, this.opcode, p);
  }
}

/** XORs `data` in place with the 4-byte `mask` (word at a time for long payloads). */
export function applyMask(data: Uint8Array, mask: Uint8Array): void {
  const len = data.length;
  const m0 = mask[0], m1 = mask[1], m2 = mask[2], m3 = mask[3];
  let i = 0;
  if (len >= 256) {
    // Align to a 4-byte boundary of the underlying buffer, then XOR 32-bit words.
    const lead = (4 - (data.byteOffset & 3)) & 3;
    for (; i < lead; i++) data[i] ^= mask[i & 3];
    const words = (len - i) >>> 2;
    // The mask word as it lies in memory from offset `lead` (little-endian view).
    const word = (mask[lead & 3] | (mask[(lead + 1) & 3] << 8) | (mask[(lead + 2) & 3] << 16) |
      (mask[(lead + 3) & 3] << 24)) >>> 0;
    const w = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let k = 0; k < words; k++) w[k] ^= word;
    i += words << 2;
    for (; i < len; i++) data[i] ^= mask[i & 3];
    return;
  }
  const end4 = len & ~3;
  for (; i < end4; i += 4) {
    data[i] ^= m0;
    data[i + 1] ^= m1;
    data[i + 2] ^= m2;
    data[i + 3] ^= m3;
  }
  for (; i < len; i++) data[i] ^= mask[i & 3];
}

// The word trick in applyMask assumes a little-endian host (x86, arm64 as run by Deno).
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error("wtproxy ws codec expects a little-endian host");
}

/** Size of a masked (client) frame header for a payload of `len` bytes. */
export function clientHeaderSize(len: number): number {
  return len < 126 ? 6 : len < 0x10000 ? 8 : 14;
}

/** Writes a masked frame header at dst[at..]; returns the offset of the mask key. */
export function putHeader(dst: Uint8Array, at: number, opcode: number, len: number, fin = true) {
  dst[at] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) {
    dst[at + 1] = 0x80 | len;
    putMask(dst, at + 2);
    return at + 2;
  }
  if (len < 0x10000) {
    dst[at + 1] = 0x80 | 126;
    dst[at + 2] = len >>> 8;
    dst[at + 3] = len & 0xff;
    putMask(dst, at + 4);
    return at + 4;
  }
  dst[at + 1] = 0x80 | 127;
  const hi = Math.floor(len / 0x100000000);
  const lo = len >>> 0;
  dst[at + 2] = (hi >>> 24) & 0xff;
  dst[at + 3] = (hi >>> 16) & 0xff;
  dst[at + 4] = (hi >>> 8) & 0xff;
  dst[at + 5] = hi & 0xff;
  dst[at + 6] = (lo >>> 24) & 0xff;
  dst[at + 7] = (lo >>> 16) & 0xff;
  dst[at + 8] = (lo >>> 8) & 0xff;
  dst[at + 9] = lo & 0xff;
  putMask(dst, at + 10);
  return at + 10;
}

/** Masks `len` bytes of `dst` from `at` in place with the key stored at dst[key..key+4]. */
export function maskInPlace(dst: Uint8Array, at: number, len: number, key: number): void {
  applyMask(dst.subarray(at, at + len), dst.subarray(key, key + 4));
}

/**
 * Encodes one masked (client-role) frame as [header + payload] (small) or [header, payload]
 * (large). `payload` may be masked in place when `owned` is true; otherwise it is copied.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  owned = false,
  fin = true,
): Uint8Array[] {
  const len = payload.length;
  const headLen = clientHeaderSize(len);
  if (len <= 16 * 1024) {
    const out = new Uint8Array(headLen + len);
    const key = putHeader(out, 0, opcode, len, fin);
    out.set(payload, headLen);
    maskInPlace(out, headLen, len, key);
    return [out];
  }
  const head = new Uint8Array(headLen);
  const key = putHeader(head, 0, opcode, len, fin);
  const body = owned ? payload : payload.slice();
  applyMask(body, head.subarray(key, key + 4));
  return [head, body];
}

/** Parses a received close payload; throws FrameError 1002/1007 when malformed. */
export function parseClose(p: Uint8Array): { code: number | null; reason: string } {
  if (p.length === 0) return { code: null, reason: "" };
  if (p.length === 1) throw new FrameError(1002, "close payload of one byte");
  const code = (p[0] << 8) | p[1];
  if (!isValidCloseCode(code)) throw new FrameError(1002, `invalid close code ${code}`);
  let reason: string;
  try {
    reason = strictUtf8.decode(p.subarray(2));
  } catch {
    throw new FrameError(1007, "close reason is not UTF-8");
  }
  return { code, reason };
}

/** Codes that may appear in a close frame on the wire (RFC 6455 §7.4, IANA registry). */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}
