// `option tcp-check` rules against real sockets, with HAProxy 2.6's words.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { TcpCheckRule } from "../../src/config/model.ts";
import { tcpCheckChecker, textBytes } from "../../src/health/tcpcheck.ts";
import { checkerConformance } from "./checker_conformance.ts";
import { closedPort, rawServer, server, silentServer } from "./helpers.ts";
import { bytes, replyWith } from "./proto.ts";

const send = (s: string): TcpCheckRule => ({ kind: "send", data: textBytes(s) });
const expect = (
  match: "string" | "binary" | "rstring" | "rbinary",
  pattern: string,
  negate = false,
): TcpCheckRule => ({ kind: "expect", match, pattern, negate });

const PING_PONG = [send("PING\r\n"), expect("string", "+PONG")];

checkerConformance(
  "tcp-check (send PING, expect string +PONG)",
  () => tcpCheckChecker(PING_PONG),
  replyWith("+PONG\r\n"),
);

async function run(rules: TcpCheckRule[], reply: Uint8Array | string, timeout = 2000) {
  const seen: Uint8Array[] = [];
  const srv = rawServer(replyWith(reply, seen));
  try {
    const r = await tcpCheckChecker(rules).check(server("s", srv.port), timeout);
    return { r, seen };
  } finally {
    await srv.close();
  }
}

Deno.test("tcp-check: a pass, the bytes sent, and two expects on one answer", async () => {
  const { r, seen } = await run(
    [send("PING\r\n"), expect("string", "+PONG"), expect("rstring", "role:master")],
    "+PONG\r\nrole:master\r\n",
  );
  assertEquals(r.reason, 'Layer7 check passed, code: 0, info: "(tcp-check)"');
  assertEquals(new TextDecoder().decode(seen[0]), "PING\r\n");
});

Deno.test("tcp-check: mismatches in HAProxy's words (string, binary, regex, negated)", async () => {
  const cases: [TcpCheckRule, string][] = [
    [expect("string", "+PONG"), "TCPCHK did not match content '+PONG' at step 2"],
    [expect("binary", "2b504f4e47"), "TCPCHK did not match content (binary) at step 2"],
    [expect("rstring", "^\\+PONG"), "TCPCHK did not match content (regex) at step 2"],
    [expect("rbinary", "^2B"), "TCPCHK did not match content (binary regex) at step 2"],
    [expect("string", "-ERR", true), "TCPCHK matched unwanted content '-ERR' at step 2"],
  ];
  for (const [rule, info] of cases) {
    // The server answers and closes: a mismatch is final.
    const srv = rawServer(async (conn) => {
      await replyWith("-ERR nope\r\n")(conn);
    });
    try {
      const r = await tcpCheckChecker([send("PING\r\n"), rule]).check(server("s", srv.port), 2000);
      assertEquals(r.reason, `Layer7 invalid response, info: "${info}"`);
    } finally {
      await srv.close();
    }
  }
  // rbinary matches the upper-case hex of the answer; binary its bytes.
  assertEquals((await run([send("x"), expect("rbinary", "^2D4552")], "-ERR")).r.ok, true);
  assertEquals((await run([send("x"), expect("binary", "2d455252")], "-ERR")).r.ok, true);
  assertEquals((await run([send("x"), expect("string", "+OK", true)], "-ERR")).r.ok, true);
});

Deno.test("tcp-check: no answer is a Layer7 timeout naming the step", async () => {
  const srv = silentServer();
  try {
    const r = await tcpCheckChecker(PING_PONG).check(server("s", srv.port), 300);
    assertEquals(
      r.reason,
      `Layer7 timeout, info: " at step 2 of tcp-check (expect string '+PONG')"`,
    );
  } finally {
    await srv.close();
  }
});

Deno.test("tcp-check: an answer closed empty, refused connects (implicit and `connect port`)", async () => {
  const srv = rawServer(async () => {});
  try {
    const r = await tcpCheckChecker(PING_PONG).check(server("s", srv.port), 2000);
    assertEquals(
      r.reason,
      'Layer7 invalid response, info: "TCPCHK got an empty response at step 2"',
    );
  } finally {
    await srv.close();
  }
  const dead = closedPort();
  const r1 = await tcpCheckChecker(PING_PONG).check(server("s", dead), 2000);
  assertEquals(
    r1.reason,
    'Layer4 connection problem, info: "Connection refused at initial connection step of tcp-check"',
  );
  const ok = rawServer(replyWith("+PONG"));
  try {
    const rules: TcpCheckRule[] = [{ kind: "connect", port: dead }, ...PING_PONG];
    const r2 = await tcpCheckChecker(rules).check(server("s", ok.port), 2000);
    assertEquals(
      r2.reason,
      `Layer4 connection problem, info: "Connection refused at step 1 of tcp-check (connect port ${dead})"`,
    );
    // `connect port N` goes to that port of the server: the check passes there.
    const elsewhere = closedPort();
    const rules2: TcpCheckRule[] = [{ kind: "connect", port: ok.port }, ...PING_PONG];
    const r3 = await tcpCheckChecker(rules2).check(server("s", elsewhere), 2000);
    assert(r3.ok, r3.reason);
    // Only sends: passes once written.
    const r4 = await tcpCheckChecker([send("hi")]).check(server("s", ok.port), 2000);
    assertEquals(r4.reason, 'Layer7 check passed, code: 0, info: "(tcp-check)"');
    // No rule: a plain connect.
    const r5 = await tcpCheckChecker([]).check(server("s", ok.port), 2000);
    assertEquals(r5.reason, "Layer4 check passed");
  } finally {
    await ok.close();
  }
});

Deno.test("tcp-check: send-binary bytes go out as written", async () => {
  const { r, seen } = await run(
    [{ kind: "send", data: bytes([0x50, 0x00, 0xff, 0x0a]) }, expect("binary", "00ff")],
    bytes([1, 0, 0xff, 2]),
  );
  assert(r.ok, r.reason);
  assertEquals(seen[0], bytes([0x50, 0x00, 0xff, 0x0a]));
});
