// The frame codec alone: round trips through every length encoding, byte-by-byte feeding,
// masking, and the protocol errors the decoder must catch.

import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  applyMask,
  closePayload,
  encodeFrame,
  FrameDecoder,
  FrameError,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_TEXT,
  parseClose,
} from "./codec.ts";
import { closeFrame } from "../../src/ws/frame.ts";
import { serverFrame } from "./harness.ts";

type F = [boolean, number, Uint8Array];

function decodeAll(bytes: Uint8Array, step = bytes.length, max = 1 << 30): F[] {
  const out: F[] = [];
  const d = new FrameDecoder((fin, op, p) => out.push([fin, op, p.slice()]), max);
  for (let i = 0; i < bytes.length; i += step) d.push(bytes.subarray(i, i + step));
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

Deno.test("frame: masked round trip for lengths around every boundary", () => {
  for (const len of [0, 1, 125, 126, 127, 1000, 16384, 16385, 65535, 65536, 70000, 1 << 20]) {
    const payload = new Uint8Array(len);
    for (let i = 0; i < len; i++) payload[i] = (i * 7) & 255;
    const wire = concat(encodeFrame(OP_BINARY, payload));
    assertEquals(wire[1] & 0x80, 0x80, "client frames are masked");
    const got = decodeAll(wire);
    assertEquals(got.length, 1);
    assertEquals(got[0][0], true);
    assertEquals(got[0][1], OP_BINARY);
    assertEquals(got[0][2], payload, `len ${len}`);
    // Fed one byte at a time (and 7 at a time) it decodes the same.
    if (len < 70000) {
      assertEquals(decodeAll(wire, 1)[0][2], payload);
      assertEquals(decodeAll(wire, 7)[0][2], payload);
    }
  }
});

Deno.test("frame: owned payload is masked in place, not copied", () => {
  const p = new Uint8Array(100000).fill(1);
  const [head, body] = encodeFrame(OP_BINARY, p, true);
  assertEquals(body, p);
  assertEquals(decodeAll(concat([head, body]))[0][2], new Uint8Array(100000).fill(1));
});

Deno.test("frame: applyMask at odd offsets matches the byte loop", () => {
  const mask = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const base = new Uint8Array(1000);
  for (let i = 0; i < base.length; i++) base[i] = i & 255;
  for (const off of [0, 1, 2, 3]) {
    const a = base.slice().subarray(off, off + 500);
    const b = a.slice();
    applyMask(a, mask);
    for (let i = 0; i < b.length; i++) b[i] ^= mask[i & 3];
    assertEquals(a, b);
  }
});

Deno.test("frame: several frames in one chunk, unmasked server frames", () => {
  const wire = concat([
    serverFrame(OP_TEXT, "a", false),
    serverFrame(OP_PING, "p"),
    serverFrame(0, "b"),
    serverFrame(OP_CLOSE, closePayload(4000, "bye")),
  ]);
  const got = decodeAll(wire);
  assertEquals(got.map(([fin, op]) => [fin, op]), [[false, 1], [true, 9], [true, 0], [true, 8]]);
  assertEquals(parseClose(got[3][2]), { code: 4000, reason: "bye" });
});

Deno.test("frame: protocol errors", () => {
  const err = (bytes: number[] | Uint8Array, code: number, max = 1 << 20) =>
    throws(
      () => decodeAll(new Uint8Array(bytes), undefined, max),
      (e) => e instanceof FrameError && e.code === code,
    );
  err([0xc1, 0x00], 1002); // RSV1 without extension
  err([0x83, 0x00], 1002); // opcode 3
  err([0x09, 0x00], 1002); // fragmented ping
  err([0x89, 126, 0, 126, ...new Array(126).fill(0)], 1002); // control > 125
  err(serverFrame(OP_BINARY, new Uint8Array(2000)), 1009, 1000); // over the limit
  throws(() => parseClose(new Uint8Array([3])), FrameError);
  throws(() => parseClose(closePayload(1005)), FrameError); // 1005 never on the wire
  throws(() => parseClose(new Uint8Array([0x03, 0xe8, 0xff])), FrameError); // bad UTF-8
  assertEquals(parseClose(new Uint8Array(0)), { code: null, reason: "" });
});

Deno.test("frame: close reason is cut to 123 bytes on a character boundary", () => {
  const p = closePayload(1000, "é".repeat(100));
  assertEquals(p.length <= 125, true);
  assertEquals(parseClose(p).reason, "é".repeat(61));
});

Deno.test("frame: the proxy's own close frames, masked and not, decode to code and reason", () => {
  for (const masked of [false, true]) {
    const f = decodeAll(closeFrame(1001, "proxy shutting down", masked));
    assertEquals(f.length, 1);
    assertEquals([f[0][0], f[0][1]], [true, OP_CLOSE]);
    assertEquals(parseClose(f[0][2]), { code: 1001, reason: "proxy shutting down" });
    assertEquals((closeFrame(1011, "", masked)[1] & 0x80) !== 0, masked);
  }
});
