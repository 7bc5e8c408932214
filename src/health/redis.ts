// `option redis-check`: PING, and `+PONG` back (HAProxy's *redis-check rule set).
// Captured words: `Layer7 check passed, code: 0, info: "Redis server is ok"`; an error reply
// `Layer7 wrong status, code: 0, info: "-NOAUTH Authentication required."` (first line).
import { expectRule, latin1, TcpCheckChecker, textBytes } from "./tcpcheck.ts";

/** The reply's first line (HAProxy's `res.payload(0,0),cut_crlf`). */
export function firstLine(buf: Uint8Array): string {
  return latin1(buf).split(/[\r\n]/, 1)[0];
}

export function redisChecker(): TcpCheckChecker {
  return new TcpCheckChecker({
    proto: true,
    rules: [
      { kind: "send", data: textBytes("*1\r\n$4\r\nPING\r\n") },
      expectRule("string", "+PONG\r\n", false, {
        errorStatus: "L7STS",
        onError: firstLine,
        onSuccess: "Redis server is ok",
      }),
    ],
  });
}
