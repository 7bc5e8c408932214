import { RawBackend } from "../helpers/raw_backend.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";
Deno.test("dbg", async () => {
  const be = new RawBackend(async (_r, c) => {
    await new Promise((r) => setTimeout(r, 50));
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }, { frontend: "    maxconn: 2" }));
  await Promise.all(Array.from({ length: 6 }, () => rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")));
  let t = performance.now();
  console.log("state", px.runtime.state.activeConnections, px.runtime.state.frontends.get("f")!.counters.current);
  await px.stop(); console.log("stop took", performance.now() - t);
  t = performance.now(); await be.close(); console.log("be close took", performance.now() - t);
});
