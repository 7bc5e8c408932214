// `option ssl-hello-chk`: an SSLv3 ClientHello (HAProxy's own bytes: the current time and
// "HAPROXYSSLCHK\nHAPROXYSSLCHK\n" as the random, 39 common cipher suites), and a handshake
// (0x16) or alert (0x15) record back. Captured words: `Layer6 check passed`,
// `Layer6 invalid response`, `Layer6 timeout`.
import { expectRule, parseHex, TcpCheckChecker, textBytes } from "./tcpcheck.ts";

const CIPHERS = "0001000200030004000500060007000800090" +
  "00A000B000C000D000E000F0010001100120013001400150016001700180019001A001B002F" +
  "0030003100320033003400350036003700380039003A";

/** The hello HAProxy sends, with `now` (Unix seconds) at offset 11. */
export function sslHello(now = Math.floor(Date.now() / 1000)): Uint8Array {
  const head = parseHex("16030000790100007503" + "00")!;
  const time = new Uint8Array([now >>> 24, (now >>> 16) & 255, (now >>> 8) & 255, now & 255]);
  const random = textBytes("HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
  const tail = parseHex("00" + "004E" + CIPHERS + "01" + "00")!;
  const out = new Uint8Array(head.length + 4 + random.length + tail.length);
  out.set(head);
  out.set(time, head.length);
  out.set(random, head.length + 4);
  out.set(tail, head.length + 4 + random.length);
  return out;
}

export function sslHelloChecker(): TcpCheckChecker {
  return new TcpCheckChecker({
    proto: true,
    rules: [
      { kind: "send", data: sslHello(), make: () => sslHello() },
      expectRule("rbinary", "^1[56]", false, {
        minRecv: 5,
        okStatus: "L6OK",
        errorStatus: "L6RSP",
        toutStatus: "L6TOUT",
      }),
    ],
  });
}
