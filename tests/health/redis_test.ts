// `option redis-check` against real sockets: HAProxy's PING and words.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { redisChecker } from "../../src/health/redis.ts";
import { checkerConformance } from "./checker_conformance.ts";
import { rawServer, server, silentServer } from "./helpers.ts";
import { replyWith } from "./proto.ts";

checkerConformance("redis-check", redisChecker, replyWith("+PONG\r\n"));

Deno.test("redis-check: sends HAProxy's PING; PONG passes, an error reply is a wrong status", async () => {
  const seen: Uint8Array[] = [];
  const ok = rawServer(replyWith("+PONG\r\n", seen));
  const bad = rawServer(replyWith("-NOAUTH Authentication required.\r\n"));
  try {
    const r = await redisChecker().check(server("s", ok.port), 2000);
    assertEquals(r.reason, 'Layer7 check passed, code: 0, info: "Redis server is ok"');
    assertEquals(new TextDecoder().decode(seen[0]), "*1\r\n$4\r\nPING\r\n");
    const r2 = await redisChecker().check(server("s", bad.port), 2000);
    assertEquals(
      r2.reason,
      'Layer7 wrong status, code: 0, info: "-NOAUTH Authentication required."',
    );
  } finally {
    await ok.close();
    await bad.close();
  }
  const silent = silentServer();
  try {
    assertEquals(
      (await redisChecker().check(server("s", silent.port), 300)).reason,
      "Layer7 timeout",
    );
  } finally {
    await silent.close();
  }
});
