// The little of RFC 6455 framing the tunnel needs to speak itself (it only relays otherwise):
// close frames of its own (1011 to the client when the backend vanishes, 1001 both ways on a
// stop or an idle timeout), masked toward the backend (§5.3: wtproxy is the client there).

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

// Masking keys come from a pool refilled by the CSPRNG (RFC 6455 §5.3 wants them
// unpredictable; one getRandomValues call per 1024 frames).
const maskPool = new Uint8Array(4096);
let maskPos = maskPool.length;

/** Writes a fresh masking key at dst[at..at+4]. */
export function putMask(dst: Uint8Array, at: number): void {
  if (maskPos >= maskPool.length) {
    crypto.getRandomValues(maskPool);
    maskPos = 0;
  }
  dst[at] = maskPool[maskPos];
  dst[at + 1] = maskPool[maskPos + 1];
  dst[at + 2] = maskPool[maskPos + 2];
  dst[at + 3] = maskPool[maskPos + 3];
  maskPos += 4;
}

/** A close frame: unmasked (to the client) or masked (to the backend). */
export function closeFrame(code: number, reason: string, masked: boolean): Uint8Array {
  const payload = closePayload(code, reason);
  const len = payload.length; // <= 125
  const head = masked ? 6 : 2;
  const out = new Uint8Array(head + len);
  out[0] = 0x80 | OP_CLOSE;
  out[1] = (masked ? 0x80 : 0) | len;
  if (masked) {
    putMask(out, 2);
    for (let i = 0; i < len; i++) out[6 + i] = payload[i] ^ out[2 + (i & 3)];
  } else out.set(payload, 2);
  return out;
}

/** Close frame payload: 2-byte code + UTF-8 reason (at most 123 bytes); null = empty. */
export function closePayload(code: number | null, reason = ""): Uint8Array {
  if (code === null) return new Uint8Array(0);
  const r = truncateUtf8(reason, 123);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `s`, cut to at most `max` bytes on a character boundary. */
export function truncateUtf8(s: string, max: number): Uint8Array {
  const b = utf8.encode(s);
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}
