// http-request / http-response / redirect in a .cfg: kept as rule texts in the tree, the
// same after --to-yaml, positions of errors on the .cfg line.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/model.ts";

const DEFAULTS = `defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
`;

const CFG = `${DEFAULTS}frontend www
  bind 127.0.0.1:8080
  acl is_api path_beg /api
  http-request redirect scheme https code 301 unless { ssl_fc }
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  redirect prefix https://b.example if is_api
  http-response set-header Strict-Transport-Security "max-age=63072000"
  default_backend app
backend app
  http-request deny deny_status 429 if { path_beg /slow }
  server s1 127.0.0.1:9000
listen both
  bind 127.0.0.1:8081
  http-request return status 200 content-type text/plain string ok
  server s2 127.0.0.1:9001
`;

Deno.test(".cfg rules: in the tree in order, on the proxy that declares them; --to-yaml loads to the same rules", async () => {
  const { config } = await loadConfigText(CFG, "t.cfg");
  const www = config.frontends.find((f) => f.name === "www")!;
  assertEquals(www.httpRequest!.map((r) => r.text), [
    "redirect scheme https code 301 unless { ssl_fc }",
    "set-header X-Forwarded-Proto https if { ssl_fc }",
    "redirect prefix https://b.example if is_api",
  ]);
  assertEquals(www.httpRequest![0].loc, { file: "t.cfg", line: 9, col: 16 });
  assertEquals(www.httpResponse!.map((r) => r.text), [
    `set-header Strict-Transport-Security "max-age=63072000"`,
  ]);
  const app = config.backends.find((b) => b.name === "app")!;
  assertEquals(app.httpRequest!.map((r) => r.text), ["deny deny_status 429 if { path_beg /slow }"]);
  // a listen's rules go with its frontend part only (they run once)
  const both = config.frontends.find((f) => f.name === "both")!;
  assertEquals(both.httpRequest!.length, 1);
  assertEquals(config.backends.find((b) => b.name === "both")!.httpRequest, undefined);

  const yaml = toYaml(parseHaproxy(CFG, "t.cfg").tree);
  assert(yaml.includes("http-request:"), yaml);
  const again = (await loadConfigText(yaml, "t.yaml")).config;
  const w2 = again.frontends.find((f) => f.name === "www")!;
  assertEquals(w2.httpRequest!.map((r) => r.text), www.httpRequest!.map((r) => r.text));
  assertEquals(w2.httpResponse!.map((r) => r.text), www.httpResponse!.map((r) => r.text));
});

async function errorsOf(text: string): Promise<string[]> {
  try {
    await loadConfigText(text, "t.cfg");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.col}`);
  }
  return [];
}

Deno.test(".cfg rule errors point at the word on its line; rules are refused in defaults", async () => {
  assertEquals(await errorsOf(CFG.replace("code 301", "code 305")), ["9:43"]);
  assertEquals(await errorsOf(CFG.replace("  mode http\n", "  mode http\n  http-request deny\n")), [
    "3:3",
  ]);
});

Deno.test(".cfg: a backend's acl lines are its rules' (also in a listen without bind); --to-yaml keeps them", async () => {
  const cfg = `${DEFAULTS}frontend www
  bind 127.0.0.1:8080
  default_backend app
backend app
  acl is_admin path_beg /admin
  acl is_admin path_beg /manage
  http-request deny if is_admin
  server s1 127.0.0.1:9000
listen checked
  acl slow path_beg /slow
  http-request deny deny_status 429 if slow
  server s2 127.0.0.1:9001
`;
  const { config } = await loadConfigText(cfg, "t.cfg");
  const acls = (name: string) =>
    config.backends.find((b) => b.name === name)!.acls?.map((a) => [a.name, a.text]);
  assertEquals(acls("app"), [["is_admin", "path_beg /admin"], ["is_admin", "path_beg /manage"]]);
  assertEquals(acls("checked"), [["slow", "path_beg /slow"]]);
  const yaml = toYaml(parseHaproxy(cfg, "t.cfg").tree);
  const again = (await loadConfigText(yaml, "t.yaml")).config;
  for (const name of ["app", "checked"]) {
    const b = again.backends.find((x) => x.name === name)!;
    assertEquals(b.acls?.map((a) => [a.name, a.text]), acls(name));
  }
  assertEquals(
    await errorsOf(cfg.replace("path_beg /manage", "nosuchfetch /manage")),
    ["11:16"], // the fetch's word on line 11
  );
});
