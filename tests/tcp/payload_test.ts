// req.payload(OFFSET,LENGTH) with `-m str` and `-m bin` routing TCP sessions on their first
// bytes (a PostgreSQL-style "write query" split seen in real files).

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { loc, server } from "../helpers/config.ts";
import {
  connect,
  greeter,
  readUntil,
  startTcpProxy,
  tcpBackend,
  tcpConfig,
  tcpFrontend,
  writeAll,
} from "./helpers.ts";

Deno.test("req.payload: the first bytes route the session (-m str, -m bin), waiting for them", async () => {
  const w = greeter("write");
  const p = greeter("post");
  const r = greeter("read");
  const proxy = await startTcpProxy(
    tcpConfig(
      tcpFrontend("read", {
        acls: [["is_set", 'req.payload(0,3) -m str "SET"'], [
          "is_post",
          "req.payload(0,4) -m bin 504f5354",
        ]],
        rules: [["write", "if", "is_set"], ["post", "if", "is_post"]],
        tcpRequest: {
          inspectDelay: 2000,
          content: [{
            action: "accept",
            polarity: "if",
            condition: "{ req.payload(0,4) -m found }",
            loc,
          }],
        },
      }),
      [
        tcpBackend("write", [server("w", w.port)]),
        tcpBackend("post", [server("p", p.port)]),
        tcpBackend("read", [server("r", r.port)]),
      ],
    ),
  );
  try {
    for (
      const [first, rest, want] of [["SE", "T x=1", "write"], ["PO", "ST /", "post"], [
        "SEL",
        "ECT 1",
        "read",
      ]]
    ) {
      const c = await connect(proxy.port);
      await writeAll(c, first); // too short to decide: the rules wait for more
      await new Promise((res) => setTimeout(res, 50));
      await writeAll(c, rest);
      assertEquals((await readUntil(c, "\n")).split("\n")[0], want); // then the echo
      c.close();
    }
    await proxy.waitLogs(3);
  } finally {
    await proxy.stop();
    await w.close();
    await p.close();
    await r.close();
  }
});
