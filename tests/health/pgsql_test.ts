// `option pgsql-check user U` against real sockets: HAProxy's StartupMessage and words.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { pgsqlChecker, pgsqlStartup } from "../../src/health/pgsql.ts";
import { checkerConformance } from "./checker_conformance.ts";
import { rawServer, server } from "./helpers.ts";
import { bytes, replyWith } from "./proto.ts";

const AUTH_OK = bytes("R", [0, 0, 0, 8, 0, 0, 0, 0]);

checkerConformance("pgsql-check", () => pgsqlChecker("postgres"), replyWith(AUTH_OK));

Deno.test("pgsql-check: HAProxy's StartupMessage; AuthenticationOk or a password request pass", async () => {
  assertEquals(
    pgsqlStartup("postgres"),
    bytes([0, 0, 0, 0x17, 0, 3, 0, 0], "user", [0], "postgres", [0, 0]),
  );
  const seen: Uint8Array[] = [];
  const ok = rawServer(replyWith(AUTH_OK, seen));
  const md5 = rawServer(replyWith(bytes("R", [0, 0, 0, 0x0c, 0, 0, 0, 5, 1, 2, 3, 4])));
  try {
    const r = await pgsqlChecker("postgres").check(server("s", ok.port), 2000);
    assertEquals(r.reason, 'Layer7 check passed, code: 0, info: "PostgreSQL server is ok"');
    assertEquals(seen[0], pgsqlStartup("postgres"));
    assertEquals((await pgsqlChecker("postgres").check(server("s", md5.port), 2000)).ok, true);
  } finally {
    await ok.close();
    await md5.close();
  }
});

Deno.test("pgsql-check: an ErrorResponse fails with its severity; anything else is unknown", async () => {
  const err = rawServer(
    replyWith(
      bytes("E", [0, 0, 0, 0x30], "SFATAL", [0], "C28000", [0], "Mno pg_hba.conf entry", [0, 0]),
    ),
  );
  const other = rawServer(replyWith(bytes("N", [0, 0, 0, 8, 0, 0, 0, 0])));
  try {
    assertEquals(
      (await pgsqlChecker("postgres").check(server("s", err.port), 2000)).reason,
      'Layer7 invalid response, info: "FATAL"',
    );
    assertEquals(
      (await pgsqlChecker("postgres").check(server("s", other.port), 2000)).reason,
      'Layer7 wrong status, code: 0, info: "PostgreSQL unknown error"',
    );
  } finally {
    await err.close();
    await other.close();
  }
});
