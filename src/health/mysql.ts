// `option mysql-check [user U [post-41|pre-41]]`: without a user, the server's initial
// handshake packet must come (not an error packet); with one, HAProxy's client authentication
// packet for U plus COM_QUIT goes first, then the handshake and an OK packet must come (the
// *mysql-check rule sets of HAProxy's src/tcpcheck.c; post-41 is the default).
// Captured words: `Layer7 check passed, code: 0, info: "5.7.0-test"` (the server version),
// `Layer7 wrong status, code: 1045, info: "#28000Access denied for user 'haproxy'"`.
import {
  cString,
  type CustomVerdict,
  type ExpectRule,
  TcpCheckChecker,
  textBytes,
} from "./tcpcheck.ts";

/** The authentication packet (sequence 1) and COM_QUIT HAProxy sends for `user`. */
export function mysqlAuth(user: string, post41 = true): Uint8Array {
  const u = textBytes(user);
  const len = u.length + 7 + (post41 ? 27 : 0);
  const head = [len & 255, (len >> 8) & 255, (len >> 16) & 255, 1];
  const caps = post41
    ? [0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21, ...new Array(23).fill(0)]
    : [0x00, 0x80, 0x00, 0x00, 0x01];
  return new Uint8Array([...head, ...caps, ...u, 0, 0, 0x01, 0x00, 0x00, 0x00, 0x01]);
}

/** One MySQL packet at `offset` (0: the handshake; after it: the answer to our login). */
function packetRule(offsetOf: (buf: Uint8Array) => number): ExpectRule {
  return {
    kind: "expect",
    negate: false,
    minRecv: -1,
    what: " (custom function)",
    text: "expect custom",
    custom(buf, final, last): CustomVerdict {
      const offset = offsetOf(buf);
      if (buf.length < offset + 4) return final ? { status: "L7RSP" } : "wait";
      const plen = buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16);
      if (buf.length < offset + plen + 4) return final ? { status: "L7RSP" } : "wait";
      if (buf[offset + 4] === 0xff) {
        return {
          status: "L7STS",
          code: buf[offset + 5] | (buf[offset + 6] << 8),
          info: cString(buf, offset + 7),
        };
      }
      if (!last) return "continue";
      return { status: "L7OK", code: 0, info: cString(buf, 5) };
    },
  };
}

export function mysqlChecker(user: string | null, post41 = true): TcpCheckChecker {
  const handshake = packetRule(() => 0);
  const ok = packetRule((b) => 4 + (b[0] | (b[1] << 8) | (b[2] << 16)));
  return new TcpCheckChecker({
    proto: true,
    rules: user === null ? [{ kind: "connect", port: null }, handshake] : [
      { kind: "connect", port: null },
      { kind: "send", data: mysqlAuth(user, post41) },
      handshake,
      ok,
    ],
  });
}
