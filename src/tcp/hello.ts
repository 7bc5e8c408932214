// A TLS ClientHello read without terminating TLS, as HAProxy's payload fetches do
// (src/payload.c): `req.ssl_hello_type` and `req.ssl_sni` look at the first handshake message
// of the client's first TLS record. "short" means more bytes may still decide it (HAProxy's
// SMP_F_MAY_CHANGE); "none" means this is not a TLS handshake (no sample).

export type HelloResult<T> = { kind: "value"; value: T } | { kind: "short" } | { kind: "none" };

const SHORT = { kind: "short" } as const;
const NONE = { kind: "none" } as const;

/** The first handshake message, whole: its type and body (HAProxy needs it all). */
function handshake(b: Uint8Array): HelloResult<{ type: number; body: Uint8Array }> {
  if (b.length === 0) return SHORT;
  // SSLv3+ record: content type 0x14..0x17 (handshake is 0x16).
  if (!((b[0] >= 0x14 && b[0] <= 0x17) || b[0] === 0xff)) return NONE;
  if (b.length < 9) return SHORT;
  if (b[1] < 3) return NONE; // SSL version 3 or later
  if (((b[3] << 8) | b[4]) < 4) return NONE;
  const type = b[5];
  const len = (b[6] << 16) | (b[7] << 8) | b[8];
  if (b.length < 9 + len) return SHORT;
  return { kind: "value", value: { type, body: b.subarray(9, 9 + len) } };
}

/** `req.ssl_hello_type`: 1 for a ClientHello, 2 for a ServerHello... */
export function helloType(b: Uint8Array): HelloResult<number> {
  const h = handshake(b);
  return h.kind === "value" ? { kind: "value", value: h.value.type } : h;
}

/** `req.ssl_sni`: the server name of the ClientHello's server_name extension. */
export function helloSni(b: Uint8Array): HelloResult<string> {
  const h = handshake(b);
  if (h.kind !== "value") return h;
  if (b[0] !== 0x16 || h.value.type !== 1) return NONE;
  const m = h.value.body;
  // client_version(2) random(32) session_id<1> cipher_suites<2> compression<1> extensions<2>
  let i = 34;
  if (i + 1 > m.length) return NONE;
  i += 1 + m[i];
  if (i + 2 > m.length) return NONE;
  i += 2 + ((m[i] << 8) | m[i + 1]);
  if (i + 1 > m.length) return NONE;
  i += 1 + m[i];
  if (i + 2 > m.length) return NONE;
  const extEnd = Math.min(m.length, i + 2 + ((m[i] << 8) | m[i + 1]));
  i += 2;
  while (i + 4 <= extEnd) {
    const type = (m[i] << 8) | m[i + 1];
    const len = (m[i + 2] << 8) | m[i + 3];
    i += 4;
    if (i + len > extEnd) return NONE;
    if (type === 0) {
      // server_name_list<2> of (name_type(1) name<2>): the first host_name (type 0).
      let j = i + 2;
      const end = Math.min(i + len, i + 2 + ((m[i] << 8) | m[i + 1]));
      while (j + 3 <= end) {
        const nameType = m[j];
        const nameLen = (m[j + 1] << 8) | m[j + 2];
        j += 3;
        if (j + nameLen > end) return NONE;
        if (nameType === 0) {
          let s = "";
          for (let k = j; k < j + nameLen; k++) s += String.fromCharCode(m[k]);
          return { kind: "value", value: s };
        }
        j += nameLen;
      }
      return NONE;
    }
    i += len;
  }
  return NONE;
}
