// checkerFor(): each check type a backend names runs its own checker (HAProxy's choice: the
// one check type of the proxy), against a peer that passes only that protocol.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { CheckSpec, HttpCheck } from "../../src/config/model.ts";
import { checkerFor } from "../../src/health/scheduler.ts";
import { textBytes } from "../../src/health/tcpcheck.ts";
import { backend, rawServer, readHead, server, settings, writeText } from "./helpers.ts";
import { bytes, readSome, replyWith, writeBytes } from "./proto.ts";

const HTTP: HttpCheck = { method: "GET", uri: "/", version: "HTTP/1.0", expect: null };

const cases: [string, CheckSpec | null, HttpCheck | null, (c: Deno.Conn) => Promise<void>][] = [
  ["redis", { kind: "redis" }, null, replyWith("+PONG\r\n")],
  ["pgsql", { kind: "pgsql", user: "u" }, null, replyWith(bytes("R", [0, 0, 0, 8, 0, 0, 0, 0]))],
  ["ssl-hello", { kind: "ssl-hello" }, null, replyWith(bytes([0x16, 3, 0, 0, 2, 2, 0]))],
  ["mysql", { kind: "mysql", user: null, post41: true }, null, async (c) => {
    await writeBytes(c, bytes([5, 0, 0, 0, 0x0a], "8.0", [0]));
    await readSome(c);
  }],
  [
    "tcp-check",
    {
      kind: "tcp-check",
      rules: [
        { kind: "send", data: textBytes("hi\n") },
        { kind: "expect", match: "string", pattern: "yo", negate: false },
      ],
    },
    null,
    replyWith("yo\n"),
  ],
  ["httpchk", null, HTTP, async (c) => {
    await readHead(c);
    await writeText(c, "HTTP/1.0 200 OK\r\n\r\n");
  }],
];

for (const [name, spec, httpchk, peer] of cases) {
  Deno.test(`checkerFor: ${name} backends run the ${name} check`, async () => {
    const srv = rawServer(peer);
    const other = rawServer(replyWith("nothing that any protocol accepts\r\n\r\n"));
    try {
      const s = settings({ httpchk });
      s.options.tcpCheck = spec;
      const checker = checkerFor(backend("b", [], s));
      assertEquals((await checker.check(server("s", srv.port), 2000)).ok, true);
      assertEquals((await checker.check(server("s", other.port), 2000)).ok, false);
    } finally {
      await srv.close();
      await other.close();
    }
  });
}
