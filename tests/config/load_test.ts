// Loading: the example file, how defaults / default-server resolve, YAML-level errors.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { detectFormat, loadConfig, loadConfigText } from "../../src/config/load.ts";
import { ConfigError, formatDiagnostic } from "../../src/config/model.ts";

const EXAMPLE = new URL("../../config.example.yaml", import.meta.url).pathname;

Deno.test("config.example.yaml loads with no error and no warning", async () => {
  const { config, warnings } = await loadConfig(EXAMPLE);
  assertEquals(warnings, []);
  assertEquals(config.format, "yaml");
  assertEquals(config.global.maxconn, 4096);
  const [wt] = config.frontends;
  assertEquals(wt.name, "wt");
  assertEquals(wt.binds.map((b) => [b.text, b.host, b.port, b.family]), [
    ["0.0.0.0:8080", "0.0.0.0", 8080, "any4"],
  ]);
  assertEquals(wt.acls.map((a) => [a.name, a.text]), [
    ["srv1", "url_sub wtd=wt1"],
    ["srv2", "url_sub wtd=wt2"],
    ["srv1_up", "nbsrv(bck1) gt 0"],
    ["srv2_up", "nbsrv(bck2) gt 0"],
  ]);
  assertEquals(wt.useBackend.map((r) => [r.backend, r.polarity, r.condition]), [
    ["bck1", "if", "srv1_up srv1"],
    ["bck2", "if", "srv2_up srv2"],
  ]);
  assertEquals(wt.defaultBackend, "bck_lb");
  // Defaults resolved into the frontend.
  const s = wt.settings;
  assertEquals([s.retries, s.maxconn], [3, 2000]);
  assertEquals([s.timeouts.connect, s.timeouts.client, s.timeouts.server], [5000, 50000, 50000]);
  assertEquals(s.timeouts.tunnel, null);
  assert(s.options.httpServerClose && s.options.httpPretendKeepalive && s.options.redispatch);
  assertEquals(s.options.forwardfor, { except: null, header: "x-forwarded-for", ifNone: false });
  assertEquals(s.options.originalto, { except: null, header: "x-original-to" });
  // `log: global` with no syslog target: the global stdout target.
  assertEquals(s.log.map((t) => t.kind), ["stdout"]);

  assertEquals(config.backends.map((b) => b.name), ["bck_lb", "bck1", "bck2"]);
  const [lb, b1] = config.backends;
  assertEquals(lb.balance.algorithm, "roundrobin");
  assertEquals(lb.servers.map((x) => [x.name, x.addressText, x.track, x.check]), [
    ["srv1", "127.0.0.1:9090", { backend: "bck1", server: "srv1" }, false],
    ["srv2", "127.0.0.1:9091", { backend: "bck2", server: "srv2" }, false],
  ]);
  const srv1 = b1.servers[0];
  assertEquals(
    [srv1.check, srv1.prefix, srv1.inter, srv1.fastinter, srv1.downinter, srv1.rise, srv1.fall],
    [true, "wt1", 2000, 2000, 2000, 2, 3],
  );
  assertEquals([srv1.weight, srv1.backup, srv1.maxconn, srv1.disabled], [1, false, 0, false]);
  // Locations point at the server's name in the file.
  const lines = (await Deno.readTextFile(EXAMPLE)).split("\n");
  const line = lines.findIndex((l) => /srv1: .*check: true/.test(l)) + 1;
  assertEquals(srv1.loc, { file: EXAMPLE, line, col: lines[line - 1].indexOf("srv1") + 1 });
  assertEquals(srv1.address, { host: "127.0.0.1", port: 9090, wildcard: false, family: "ipv4" });
});

Deno.test("a section overrides defaults key by key; default-server layers", async () => {
  const { config } = await loadConfigText(
    `
defaults:
  retries: 2
  options: { httplog: true, forwardfor: true }
  timeouts: { connect: 1s, client: 10s, server: 10s }
  default-server: { inter: 3s, rise: 4 }
frontends:
  f:
    bind: "127.0.0.1:0"
    options: { httplog: false }
    timeouts: { client: 2m }
    default_backend: b
backends:
  b:
    default-server: { rise: 5, fall: 6, fastinter: 500 }
    options: { httpchk: "GET /health" }
    http-check: { expect: status 200-399 }
    log: none
    servers:
      s1: { address: "[::1]:9000", check: true, inter: 1500ms }
      s2: 127.0.0.1:9001
`,
    "t.yaml",
  );
  const f = config.frontends[0];
  assertEquals(f.binds[0].port, 0);
  assertEquals(f.settings.retries, 2);
  assertEquals(f.settings.options.httplog, false);
  assertEquals(f.settings.options.forwardfor?.header, "x-forwarded-for");
  assertEquals([f.settings.timeouts.connect, f.settings.timeouts.client], [1000, 120000]);
  assertEquals(f.settings.log, []); // no `log` anywhere: no access log
  const b = config.backends[0];
  assertEquals(b.settings.options.httpchk, {
    method: "GET",
    uri: "/health",
    version: "HTTP/1.0",
    expect: { kind: "status", value: "200-399" },
  });
  const [s1, s2] = b.servers;
  assertEquals([s1.inter, s1.fastinter, s1.downinter, s1.rise, s1.fall], [1500, 500, 1500, 5, 6]);
  assertEquals([s2.inter, s2.fastinter, s2.downinter, s2.check], [3000, 500, 3000, false]);
  assertEquals(s1.address.family, "ipv6");
});

Deno.test("YAML syntax errors carry FILE:LINE:COL and stop before the builder", async () => {
  await rejects(
    loadConfigText('frontends:\n  wt:\n    bind: ["0.0.0.0:80"\n', "bad.yaml"),
    (err: ConfigError) => {
      assertEquals(err.diagnostics.length, 1);
      assert(
        /^bad\.yaml:\d+:\d+: error: YAML syntax error: /.test(formatDiagnostic(err.diagnostics[0])),
      );
      return true;
    },
  );
  await rejects(loadConfigText("a: 1\n\tb: 2\n", "tab.yaml"), (err: ConfigError) => {
    assertEquals(err.diagnostics[0].line, 2);
    return true;
  });
});

Deno.test("duplicate keys name the key and the line where it was first given", async () => {
  await rejects(
    loadConfigText(
      "frontends:\n  f:\n    bind: ':80'\n    default_backend: b\n    bind: ':81'\nbackends:\n  b: {}\n",
      "dup.yaml",
    ),
    (err: ConfigError) => {
      assertEquals(
        err.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic),
        ['dup.yaml:5:5: error: duplicate key "frontends.f.bind" (first given at line 3)'],
      );
      return true;
    },
  );
});

Deno.test("YAML anchors and merge keys are followed", async () => {
  const { config } = await loadConfigText(
    `
x-server: &srv { check: true, inter: 1s }
`.replace("x-server", "defaults:\n  default-server") +
      `
frontends: { f: { bind: ":0", default_backend: b } }
backends:
  b:
    servers:
      s1: { <<: *srv, address: "127.0.0.1:1", inter: 5s }
`,
    "anchor.yaml",
  ).catch((e) => {
    throw new Error(e.message);
  });
  assertEquals([config.backends[0].servers[0].check, config.backends[0].servers[0].inter], [
    true,
    5000,
  ]);
});

Deno.test("format: .cfg extension or HAProxy section words mean HAProxy", () => {
  assertEquals(detectFormat("", "x.cfg"), "cfg");
  assertEquals(detectFormat("global\n  maxconn 10\n", "x.conf"), "cfg");
  assertEquals(detectFormat("# c\n\nfrontend wt\n", "x"), "cfg");
  assertEquals(detectFormat("global:\n  maxconn: 10\n", "x"), "yaml");
  assertEquals(detectFormat("global\n", "x.yaml"), "yaml");
});

Deno.test("an unreadable file is one error at FILE:1:1", async () => {
  await rejects(loadConfig("/nonexistent/wtproxy.yaml"), (err: ConfigError) => {
    assertEquals(err.diagnostics.map(formatDiagnostic), [
      "/nonexistent/wtproxy.yaml:1:1: error: cannot read the configuration file: no such file",
    ]);
    return true;
  });
});
