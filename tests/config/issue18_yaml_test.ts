// --to-yaml renders the issue-18 keywords (cookie, errorfile/http-errors, stats, use_backend
// %[...] with a map file) and the YAML it prints loads into the same configuration.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { toYaml } from "../../src/config/to_yaml.ts";

Deno.test("--to-yaml: cookie, errorfile, http-errors, stats and dynamic use_backend round-trip", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/503.http`, "HTTP/1.0 503 Busy\r\n\r\nbusy\n");
  await Deno.writeTextFile(`${dir}/hosts.map`, "www.example.com app\n");
  const cfg = `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n` +
    `  timeout server 5s\n  errorfile 503 ${dir}/503.http\n` +
    `http-errors site\n  errorfile 502 ${dir}/503.http\n` +
    `listen stats\n  bind 127.0.0.1:0\n  stats enable\n  stats uri /\n  stats auth a:b\n` +
    `  stats refresh 10s\n  stats admin if LOCALHOST\n` +
    `frontend www\n  bind 127.0.0.1:0\n  errorfiles site\n` +
    `  use_backend %[req.hdr(host),lower,map(${dir}/hosts.map,app)]\n  default_backend app\n` +
    `backend app\n  cookie SERVERID insert indirect nocache\n` +
    `  server s1 127.0.0.1:1 cookie s1\n  server s2 127.0.0.1:2 cookie s2\n`;
  const fromCfg = (await loadConfigText(cfg, "r.cfg")).config;
  const yaml = toYaml(parseHaproxy(cfg, "r.cfg").tree);
  const fromYaml = (await loadConfigText(yaml, "r.yaml")).config;
  const pick = (c: typeof fromCfg) => ({
    cookie: c.backends.find((b) => b.name === "app")?.cookie?.mode,
    serverCookies: c.backends.find((b) => b.name === "app")?.servers.map((s) => s.cookie),
    pages: c.frontends.map((f) => Object.keys(f.errorPages ?? {})),
    stats: c.frontends.find((f) => f.name === "stats")?.stats?.auth,
    dynamic: c.frontends.find((f) => f.name === "www")?.useBackend[0].backend,
  });
  assertEquals(pick(fromYaml), pick(fromCfg));
  assertEquals(pick(fromCfg), {
    cookie: "insert",
    serverCookies: ["s1", "s2"],
    pages: [["503"], ["502", "503"]],
    stats: [{ user: "a", password: "b" }],
    dynamic: `%[req.hdr(host),lower,map(${dir}/hosts.map,app)]`,
  });
  await Deno.remove(dir, { recursive: true });
});
