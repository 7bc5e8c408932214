// `option mysql-check [user U]` against real sockets: HAProxy's packets and words.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { mysqlAuth, mysqlChecker } from "../../src/health/mysql.ts";
import { checkerConformance } from "./checker_conformance.ts";
import { rawServer, server } from "./helpers.ts";
import { bytes, readSome, writeBytes } from "./proto.ts";

function packet(seq: number, body: Uint8Array): Uint8Array {
  return bytes([body.length & 255, (body.length >> 8) & 255, body.length >> 16, seq], [...body]);
}

const GREETING = packet(
  0,
  bytes([0x0a], "5.7.0-test", [0, 1, 0, 0, 0], "abcdefgh", [0, 0xff, 0xf7, 0x21, 2, 0]),
);
const OK = packet(2, bytes([0, 0, 0, 2, 0, 0, 0]));
const DENIED = packet(2, bytes([0xff, 0x15, 0x04], "#28000Access denied for user 'haproxy'"));

/** A MySQL-like server: greeting first, then `reply` to the login. */
function mysqlServer(reply: Uint8Array | null, seen?: Uint8Array[]) {
  return rawServer(async (conn) => {
    await writeBytes(conn, GREETING);
    const got = await readSome(conn);
    seen?.push(got);
    if (reply) await writeBytes(conn, reply);
  });
}

checkerConformance("mysql-check user haproxy", () => mysqlChecker("haproxy"), async (conn) => {
  await writeBytes(conn, GREETING);
  await readSome(conn);
  await writeBytes(conn, OK);
});

Deno.test("mysql-check: HAProxy's login packet (post-41 and pre-41) plus COM_QUIT", () => {
  assertEquals(
    mysqlAuth("haproxy"),
    bytes([0x29, 0, 0, 1, 0, 0x82, 0, 0, 0, 0x80, 0, 1, 0x21], new Array(23).fill(0), "haproxy", [
      0,
      0,
      1,
      0,
      0,
      0,
      1,
    ]),
  );
  assertEquals(
    mysqlAuth("haproxy", false),
    bytes([0x0e, 0, 0, 1, 0, 0x80, 0, 0, 1], "haproxy", [0, 0, 1, 0, 0, 0, 1]),
  );
});

Deno.test("mysql-check: passes with the server version; a refused login is its error code", async () => {
  const seen: Uint8Array[] = [];
  const ok = mysqlServer(OK, seen);
  const denied = mysqlServer(DENIED);
  const greetOnly = mysqlServer(null);
  try {
    const r = await mysqlChecker("haproxy").check(server("s", ok.port), 2000);
    assertEquals(r.reason, 'Layer7 check passed, code: 0, info: "5.7.0-test"');
    assertEquals(seen[0], mysqlAuth("haproxy"));
    assertEquals(
      (await mysqlChecker("haproxy").check(server("s", denied.port), 2000)).reason,
      `Layer7 wrong status, code: 1045, info: "#28000Access denied for user 'haproxy'"`,
    );
    // Without a user only the greeting counts.
    assertEquals(
      (await mysqlChecker(null).check(server("s", greetOnly.port), 2000)).reason,
      'Layer7 check passed, code: 0, info: "5.7.0-test"',
    );
    // A login that gets no answer before the server closes: invalid response.
    assertEquals(
      (await mysqlChecker("haproxy").check(server("s", greetOnly.port), 2000)).reason,
      "Layer7 invalid response",
    );
  } finally {
    await ok.close();
    await denied.close();
    await greetOnly.close();
  }
});
