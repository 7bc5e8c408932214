// A 205 answer with a body (which Fetch's Response refuses) still reaches the client, bodiless,
// and frees the server connection and the backend/server counters.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { RawBackend } from "../helpers/raw_backend.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";

Deno.test("205 with a body (until close, chunked, length) -> 205 without body, counters freed", async () => {
  const answers: Record<string, string> = {
    "/close": "HTTP/1.1 205 Reset Content\r\nX-A: 1\r\n\r\nbody",
    "/chunked":
      "HTTP/1.1 205 Reset Content\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
    "/length": "HTTP/1.1 205 Reset Content\r\nContent-Length: 4\r\n\r\nbody",
  };
  const be = new RawBackend(async (r, c): Promise<"close"> => {
    const path = r.head.split(" ")[1];
    await c.write(answers[path]);
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    for (const path of Object.keys(answers)) {
      const res = await rawRequest(
        px.port,
        `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
      );
      assertEquals([path, res.status, res.text], [path, 205, ""]);
    }
    const logs = await px.waitLogs(3);
    assertEquals(logs.map((l) => [l.status, l.termination]), [
      [205, "----"],
      [205, "----"],
      [205, "----"],
    ]);
    const st = px.runtime.state;
    assertEquals(st.servers.get("b/s1")!.counters.current, 0);
    assertEquals(st.backends.get("b")!.counters.current, 0);
  } finally {
    await px.stop();
    await be.close();
  }
});
