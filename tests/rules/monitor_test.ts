// `monitor-uri` / `monitor fail` (HAProxy): the frontend answers the monitor URI itself, before
// its http-request rules: 200 "Service ready.", 503 while the fail condition holds.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { startProxyFrom } from "../helpers/proxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/model.ts";

const cfg = (server: string, fe = "") =>
  `defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
  monitor-uri /_health
frontend f
  bind 127.0.0.1:0
  acl dead nbsrv(b) lt 1
  monitor fail if dead || { req.hdr(x-fail) -m found }
  http-request deny if { path /_health }
${fe}  default_backend b
backend b
  server s ${server}
`;

const get = (port: number, target: string, extra = "") =>
  rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`);

Deno.test("monitor-uri from defaults: 200 without a server and before http-request rules; 503 while 'monitor fail' holds", async () => {
  const be = new RawBackend(echoHead);
  const { config } = await loadConfigText(cfg(be.address), "t.cfg");
  const px = await startProxyFrom(config);
  try {
    let res = await get(px.port, "/_health?x=1");
    assertEquals(res.statusLine, "HTTP/1.1 200 OK");
    assert(res.text.includes("Service ready."), res.text);
    res = await get(px.port, "/_health", "x-fail: 1\r\n");
    assertEquals(res.status, 503);
    assertEquals(be.received.length, 0);
    res = await get(px.port, "/app");
    assertEquals(res.status, 200);
    assertEquals(be.received.length, 1);
  } finally {
    await px.stop();
    await be.close();
  }
});

async function problems(text: string): Promise<string[]> {
  try {
    await loadConfigText(text, "t.cfg");
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.diagnostics.filter((d) => d.severity === "error").map((d) =>
      `${d.line}:${d.col} ${d.message}`
    );
  }
}

Deno.test("monitor: bad lines are errors at their place", async () => {
  const base = cfg("127.0.0.1:1");
  const bad = await problems(base.replace(/monitor fail .*/, "monitor fail if nope"));
  assertEquals(bad.length, 1, JSON.stringify(bad));
  assert(bad[0].startsWith("10:") && bad[0].includes("unknown ACL 'nope'"), bad[0]);
  const noCond = await problems(base.replace(/monitor fail .*/, "monitor fail"));
  assertEquals(noCond, [
    "10:3 'monitor' expects 'fail' and either 'if' or 'unless' followed by a condition.",
  ]);
  const twice = await problems(
    base.replace("  http-request deny", "  monitor fail if dead\n  http-request deny"),
  );
  assertEquals(twice.length, 1, twice.join("\n"));
  assert(twice[0].startsWith("11:3 a second 'monitor fail'"), twice[0]);
});
