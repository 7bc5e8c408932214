// `option pgsql-check user U`: a PostgreSQL StartupMessage for U, then an authentication
// request ('R') back is a pass, an ErrorResponse ('E') a failure (HAProxy's *pgsql-check rule
// set). Captured words: `Layer7 check passed, code: 0, info: "PostgreSQL server is ok"`,
// `Layer7 invalid response, info: "FATAL"` (the error's severity field).
import { cString, expectRule, TcpCheckChecker, textBytes } from "./tcpcheck.ts";

/** The StartupMessage HAProxy sends: length, protocol 3.0, "user" U, end. */
export function pgsqlStartup(user: string): Uint8Array {
  const body = textBytes(`\u0000\u0003\u0000\u0000user\u0000${user}\u0000\u0000`);
  const len = 4 + body.length;
  const out = new Uint8Array(len);
  out.set([len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255]);
  out.set(body, 4);
  return out;
}

export function pgsqlChecker(user: string): TcpCheckChecker {
  return new TcpCheckChecker({
    proto: true,
    rules: [
      { kind: "connect", port: null },
      { kind: "send", data: pgsqlStartup(user) },
      expectRule("rstring", "^E", true, {
        minRecv: 5,
        errorStatus: "L7RSP",
        onError: (b) => cString(b, 6),
      }),
      expectRule("rbinary", "^52000000(08|0A|0C)000000(00|02|03|04|05|06)", false, {
        minRecv: 9,
        errorStatus: "L7STS",
        onSuccess: "PostgreSQL server is ok",
        onError: () => "PostgreSQL unknown error",
      }),
    ],
  });
}
