// The HAProxy .cfg front end: the Wt recipe files load as written (with the warnings an HAProxy
// user needs), syntax (quotes, escapes, variables, comments), sections and `defaults`
// inheritance, and the .cfg -> YAML converter (same model either way).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { looksLikeHaproxy, parseHaproxy } from "../../src/config/haproxy.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { parseYaml } from "../../src/config/yaml.ts";
import { loadConfigText } from "../../src/config/load.ts";
import {
  type Config,
  ConfigError,
  type Diagnostic,
  formatDiagnostic,
  type SrcNode,
} from "../../src/config/model.ts";

const SEED = new URL("../fixtures/seed", import.meta.url).pathname;
const DIR = "tests/fixtures/cfg";
const ENV: Record<string, string> = {
  LISTEN_ADDR: "127.0.0.1:18090",
  CLIENT_TIMEOUT: "20s",
  APP_HOST: "127.0.0.1",
};
const env = (n: string) => ENV[n];

function seed(name: string): string {
  return Deno.readTextFileSync(`${SEED}/${name}`);
}

/** "LINE:COL severity: message" lines, for readable assertions. */
function where(ds: Diagnostic[]): string[] {
  return ds.map((d) => `${d.line}:${d.col} ${d.severity}: ${d.message}`);
}

/** The tree as plain data without locations or comments. */
function plain(n: SrcNode): unknown {
  if (n.kind === "scalar") return n.value;
  if (n.kind === "seq") return n.items.map(plain);
  return n.entries.map((e) => [e.key, plain(e.value)]);
}

/** A model without what naturally differs between two files (names, locations, format). */
function comparable(c: Config): unknown {
  return JSON.parse(JSON.stringify(
    c,
    (k, v) =>
      ["loc", "file", "format", "warnings"].includes(k) || k.endsWith("Loc") ? undefined : v,
  ));
}

function get(n: SrcNode, ...path: string[]): SrcNode {
  let cur = n;
  for (const k of path) {
    assert(cur.kind === "map", `not a map at ${k}`);
    const e = cur.entries.find((x) => x.key === k);
    assert(e, `no key ${k} in ${JSON.stringify(plain(cur))}`);
    cur = e.value;
  }
  return cur;
}

const PRIVILEGE = "privilege dropping and daemonising belong to the service manager";

function assertRecipeWarnings(ds: Diagnostic[], indent: number) {
  const c = indent + 1;
  const w = where(ds);
  const has = (prefix: string, text: string) =>
    assert(
      w.some((x) => x.startsWith(prefix) && x.includes(text)),
      `missing ${prefix} ${text} in:\n${w.join("\n")}`,
    );
  has(`5:${c} warning: 'user' is not supported`, PRIVILEGE);
  has(`6:${c} warning: 'group' is not supported`, PRIVILEGE);
  has(`7:${c} warning: 'daemon' is not supported`, PRIVILEGE);
  has(
    `21:${c} warning: the 'contimeout' directive is not supported anymore since HAProxy 2.1`,
    "wtproxy runs it as 'timeout connect 5000'. Use 'timeout connect'.",
  );
  has(`22:${c} warning: the 'clitimeout' directive`, "Use 'timeout client'.");
  has(`23:${c} warning: the 'srvtimeout' directive`, "Use 'timeout server'.");
}

// ---- the Wt recipe files, verbatim ----

Deno.test("seed affinity.cfg: loads verbatim with the legacy and privilege warnings", async () => {
  const file = `${SEED}/affinity.cfg`;
  const { diagnostics } = parseHaproxy(seed("affinity.cfg"), file);
  assertEquals(diagnostics.filter((d) => d.severity === "error"), []);
  assertRecipeWarnings(diagnostics, 4);
  assertEquals(diagnostics.length, 6, where(diagnostics).join("\n"));

  const { config, warnings } = await loadConfigText(seed("affinity.cfg"), file);
  assertEquals(config.format, "cfg");
  assertEquals(config.global.maxconn, 4096);
  assertEquals(
    config.global.log.map((t) => [t.host, t.port, t.facility, t.level]),
    [["127.0.0.1", 514, "local0", "debug"], ["127.0.0.1", 514, "local1", "notice"]],
  );
  const fe = config.frontends[0];
  assertEquals(fe.name, "wt");
  assertEquals(fe.binds.map((b) => [b.host, b.port]), [["0.0.0.0", 80]]);
  assertEquals(fe.acls.map((a) => [a.name, a.text]), [
    ["srv1", "url_sub wtd=wt1"],
    ["srv2", "url_sub wtd=wt2"],
    ["srv1_up", "nbsrv(bck1) gt 0"],
    ["srv2_up", "nbsrv(bck2) gt 0"],
  ]);
  assertEquals(fe.useBackend.map((u) => [u.backend, u.polarity, u.condition, u.loc.line]), [
    ["bck1", "if", "srv1_up srv1", 31],
    ["bck2", "if", "srv2_up srv2", 32],
  ]);
  assertEquals(fe.defaultBackend, "bck_lb");
  assertEquals(fe.settings.maxconn, 2000);
  assertEquals(fe.settings.timeouts.client, 50000);
  assertEquals(fe.settings.options.httplog, true);
  assertEquals(fe.settings.log.length, 2); // log global
  const [lb, b1] = config.backends;
  assertEquals(config.backends.map((b) => b.name), ["bck_lb", "bck1", "bck2"]);
  assertEquals(lb.servers.map((s) => [s.name, s.track, s.check]), [
    ["srv1", { backend: "bck1", server: "srv1" }, false],
    ["srv2", { backend: "bck2", server: "srv2" }, false],
  ]);
  assertEquals(b1.servers[0].check, true);
  assertEquals(b1.settings.retries, 3);
  assertEquals(b1.settings.timeouts.connect, 5000);
  assertEquals(b1.settings.timeouts.server, 50000);
  assertEquals(b1.settings.options.redispatch, true);
  assertEquals(b1.settings.options.httpPretendKeepalive, true);
  assertEquals(b1.settings.options.httpServerClose, true);
  assert(b1.settings.options.forwardfor !== null);
  assert(b1.settings.options.originalto !== null);
  // our warnings reach the user through loadConfig too
  assert(warnings.some((w) => w.message.includes("'contimeout'")));
});

Deno.test("seed basic.cfg: `listen 0.0.0.0:8181` listens where its name says, with a warning", async () => {
  const file = `${SEED}/basic.cfg`;
  const { diagnostics } = parseHaproxy(seed("basic.cfg"), file);
  assertEquals(diagnostics.filter((d) => d.severity === "error"), []);
  assertRecipeWarnings(diagnostics, 8);
  const listen = diagnostics.find((d) => d.line === 25)!;
  assertEquals([listen.severity, listen.col], ["warning", 8]);
  assert(listen.message.startsWith("proxy '0.0.0.0:8181' has no 'bind' directive"));
  assert(listen.message.includes("looks like an address"));
  assert(listen.message.includes("HAProxy would take it as a name only and listen nowhere"));
  assert(listen.message.includes("wtproxy listens on 0.0.0.0:8181"));
  assert(listen.message.includes("Add 'bind 0.0.0.0:8181' to the section"));

  // It loads verbatim: a frontend bound to 0.0.0.0:8181 and a backend with the checked server.
  const { config, warnings } = await loadConfigText(seed("basic.cfg"), file);
  assert(warnings.some((w) => w.line === 25 && w.message.includes("wtproxy listens on")));
  assertEquals(
    config.frontends.map((f) => [f.name, f.binds[0].host, f.binds[0].port, f.defaultBackend]),
    [["0.0.0.0:8181", "0.0.0.0", 8181, "0.0.0.0:8181"]],
  );
  assertEquals(config.backends.map((b) => [b.name, b.servers[0].check]), [["0.0.0.0:8181", true]]);
});

Deno.test("a `listen` without bind whose name is not an address listens nowhere", () => {
  const { tree, diagnostics } = parseHaproxy(
    "defaults\n    mode http\nlisten app\n    server s1 127.0.0.1:9090 check\n",
    "n.cfg",
  );
  const w = diagnostics.find((d) => d.line === 3)!;
  assert(w.message.includes("opens no listener for it and only health-checks its servers"));
  assert(tree.kind === "map" && !tree.entries.some((e) => e.key === "frontends"));
});

Deno.test("legacy `listen NAME ADDRESS` listens on ADDRESS, with HAProxy 1.6+'s advice", () => {
  const { tree, diagnostics } = parseHaproxy("listen app 0.0.0.0:8080\n    mode http\n", "l.cfg");
  assertEquals(diagnostics.filter((d) => d.severity === "error"), []);
  assertEquals(diagnostics.length, 1);
  assertEquals(`${diagnostics[0].line}:${diagnostics[0].col}`, "1:12");
  assert(diagnostics[0].message.includes("please use the 'bind' keyword for listening addresses"));
  assert(diagnostics[0].message.includes("'bind 0.0.0.0:8080'"));
  assertEquals(plain(get(tree, "frontends", "app", "bind")), "0.0.0.0:8080");
});

// ---- syntax ----

Deno.test("words: quotes, escapes, variables in double quotes only, comments", () => {
  const text = [
    "global",
    `    log-tag "a b"'c d'e\\ f\\#g   # comment`,
    `    log "\${HOST}:\${PORT-5514}" local0`,
    "defaults",
    "    mode http",
    "    timeout client '${NOT_EXPANDED}'",
    `    timeout server "\${UNSET}5s"`,
  ].join("\n") + "\n";
  const { tree, diagnostics } = parseHaproxy(text, "w.cfg", {
    env: (n) => ({ HOST: "10.0.0.1" } as Record<string, string>)[n],
  });
  assertEquals(plain(get(tree, "global", "log-tag")), "a bc de f#g");
  assertEquals(plain(get(tree, "global", "log")), [[["address", "10.0.0.1:5514"], [
    "facility",
    "local0",
  ]]]);
  assertEquals(plain(get(tree, "defaults", "timeouts", "client")), "${NOT_EXPANDED}");
  assertEquals(plain(get(tree, "defaults", "timeouts", "server")), "5s");
  assertEquals(where(diagnostics), [
    "7:21 warning: environment variable 'UNSET' is not set: it expands to an empty string",
  ]);
});

Deno.test("words: ${VAR[*]} expands to several words; setenv defines variables", () => {
  const text = [
    "global",
    '    setenv BINDS "127.0.0.1:18081 127.0.0.1:18082"',
    "defaults",
    "    mode http",
    "frontend f",
    '    bind "${BINDS}"', // one word "a b": kept whole (build.ts refuses the space)
    '    acl api path_beg "${PATHS[*]}"',
    "    default_backend b",
    "backend b",
    "    server s 127.0.0.1:19090",
  ].join("\n");
  const { tree } = parseHaproxy(text, "v.cfg", {
    env: (n) => ({ PATHS: "/api /v1" } as Record<string, string>)[n],
  });
  assertEquals(plain(get(tree, "frontends", "f", "bind")), "127.0.0.1:18081 127.0.0.1:18082");
  assertEquals(plain(get(tree, "frontends", "f", "acls", "api")), "path_beg /api /v1");
});

Deno.test("locations: keyword and argument columns; comments go to the YAML", () => {
  const text = "# header\n\ndefaults\n\tmode http\n  # why 5s\n  timeout   connect 5s # short\n";
  const { tree } = parseHaproxy(text, "loc.cfg");
  assertEquals(tree.comment, "header");
  const defaults = get(tree, "defaults");
  assert(defaults.kind === "map");
  const mode = defaults.entries.find((e) => e.key === "mode")!;
  assertEquals([mode.keyLoc.line, mode.keyLoc.col, mode.value.loc.col], [4, 2, 7]);
  const timeouts = get(tree, "defaults", "timeouts");
  assert(timeouts.kind === "map");
  const connect = timeouts.entries[0];
  assertEquals([connect.keyLoc.line, connect.keyLoc.col], [6, 13]);
  assertEquals([connect.value.loc.line, connect.value.loc.col], [6, 21]);
  assertEquals(connect.comment, "why 5s\nshort");
  assert(toYaml(tree).includes("    # why 5s\n    # short\n    connect: 5s\n"));
});

Deno.test("looksLikeHaproxy tells a .cfg from YAML by its first directive", () => {
  assert(looksLikeHaproxy("# c\n\nglobal\n  daemon\n"));
  assert(looksLikeHaproxy("frontend wt\n  bind :80\n"));
  assert(!looksLikeHaproxy("global:\n  maxconn: 10\n"));
  assert(!looksLikeHaproxy("frontends:\n  wt: {}\n"));
});

// ---- sections and defaults ----

Deno.test("listen with bind: a frontend and a backend of the same name; options follow capability", () => {
  const { tree, diagnostics } = parseHaproxy(
    Deno.readTextFileSync(`${DIR}/good-listen.cfg`),
    "good-listen.cfg",
  );
  assertEquals(diagnostics, []);
  assertEquals(plain(get(tree, "frontends", "app", "bind")), [
    "127.0.0.1:18080",
    "127.0.0.1:18081",
    ":18082",
  ]);
  // comma list: each address located at its own column
  const binds = get(tree, "frontends", "app", "bind");
  assert(binds.kind === "seq");
  assertEquals(binds.items.map((b) => b.loc.col), [10, 26, 10]);
  assertEquals(plain(get(tree, "frontends", "app", "default_backend")), "app");
  assertEquals(plain(get(tree, "frontends", "app", "maxconn")), 100);
  assertEquals(plain(get(tree, "backends", "app", "balance")), "url_param wtd");
  assertEquals(plain(get(tree, "backends", "app", "options", "httpchk")), [
    ["method", "GET"],
    ["uri", "/health"],
    ["version", "HTTP/1.1"],
  ]);
  assertEquals(plain(get(tree, "backends", "app", "servers", "wt2")), [
    ["address", "127.0.0.1:19091"],
    ["check", true],
    ["disabled", true],
    ["fastinter", "500ms"],
    ["downinter", "5s"],
  ]);
  assertEquals(plain(get(tree, "defaults", "options", "forwardfor")), [
    ["except", "127.0.0.0/8"],
    ["header", "X-Client-IP"],
    ["if-none", true],
  ]);
});

Deno.test("several defaults sections: each proxy runs with the one before it", async () => {
  const text = Deno.readTextFileSync(`${DIR}/good-multi-defaults.cfg`);
  const { config } = await loadConfigText(text, "multi.cfg");
  const [first, second] = config.frontends;
  const [one, two] = config.backends;
  // first defaults
  assertEquals(first.settings.options.httplog, true);
  assertEquals(first.settings.maxconn, 2000);
  assertEquals(first.settings.log.map((t) => t.port), [5514]);
  assertEquals(one.settings.retries, 3);
  assertEquals(one.settings.timeouts.connect, 5000);
  assertEquals(one.servers[0].inter, 3000);
  // second defaults: a fresh start (HAProxy resets to its own defaults), then its settings
  assertEquals(second.settings.options.httplog, false); // `no option httplog`
  assertEquals(second.settings.options.httpServerClose, false);
  assertEquals(second.settings.options.forwardfor, null);
  assertEquals(second.settings.maxconn, 0);
  assertEquals(second.settings.timeouts.client, 10000);
  // `log global`: the global targets (none written: wtproxy's default, stdout)
  assertEquals(second.settings.log, config.global.log);
  assertEquals(second.useBackend.map((u) => [u.backend, u.condition]), [
    ["two", "{ path_beg /api }"],
    ["one", "TRUE"], // `use_backend one` without condition always matches
  ]);
  assertEquals(two.settings.retries, 1);
  assertEquals(two.settings.timeouts.connect, 1000);
  assertEquals(two.settings.options.redispatch, true);
  assertEquals(two.settings.options.httpchk, null);
  // `default-server fall 5` comes after s2: HAProxy applies it to s3 only
  assertEquals(two.servers.map((s) => [s.name, s.inter, s.fall]), [
    ["s2", 2000, 3],
    ["s3", 2000, 5],
  ]);
});

Deno.test("proxies before any defaults keep HAProxy's built-in values", async () => {
  const text = [
    "frontend early",
    "    mode http",
    "    bind :18080",
    "    timeout client 5s",
    "    default_backend early_b",
    "backend early_b",
    "    mode http",
    "    server s 127.0.0.1:19091",
    "defaults",
    "    mode http",
    "    option forwardfor",
    "    retries 5",
    "    timeout client 30s",
    "    timeout connect 3s",
    "backend b",
    "    server s 127.0.0.1:19090",
  ].join("\n");
  const { config } = await loadConfigText(text, "early.cfg");
  const fe = config.frontends[0];
  assertEquals(fe.settings.options.forwardfor, null);
  assertEquals(fe.settings.timeouts.client, 5000);
  const [early, late] = config.backends;
  assertEquals([early.settings.timeouts.connect, early.settings.retries], [null, 3]);
  assertEquals([late.settings.timeouts.connect, late.settings.retries], [3000, 5]);
});

// ---- converter ----

const GOOD = [
  `${SEED}/affinity.cfg`,
  `${DIR}/good-listen.cfg`,
  `${DIR}/good-multi-defaults.cfg`,
  `${DIR}/good-quoting.cfg`,
  `${DIR}/warn-unsupported.cfg`,
];

for (const file of GOOD) {
  const name = file.split("/").pop();
  Deno.test(`convert ${name}: cfg -> YAML -> model equals cfg -> model`, async () => {
    const text = Deno.readTextFileSync(file);
    const parsed = parseHaproxy(text, file, { env });
    const yaml = toYaml(parsed.tree);
    // the YAML parses back to the same tree
    const back = parseYaml(yaml, "converted.yaml");
    assertEquals(back.diagnostics, [], yaml);
    assertEquals(plain(back.tree), plain(parsed.tree));
    // and builds the same model
    const saved = Deno.env.toObject();
    for (const [k, v] of Object.entries(ENV)) Deno.env.set(k, v);
    try {
      const fromCfg = await loadConfigText(text, file);
      const fromYaml = await loadConfigText(yaml, "converted.yaml");
      assertEquals(comparable(fromYaml.config), comparable(fromCfg.config));
      // the YAML has none of the .cfg-only warnings: they were about the .cfg's words
      assert(!fromYaml.warnings.some((w) => w.message.includes("not supported anymore")));
    } catch (e) {
      if (e instanceof ConfigError) throw new Error(e.diagnostics.map(formatDiagnostic).join("\n"));
      throw e;
    } finally {
      for (const k of Object.keys(ENV)) if (!(k in saved)) Deno.env.delete(k);
    }
  });
}

Deno.test("convert affinity.cfg: readable YAML that keeps notes on what changed", () => {
  const yaml = toYaml(parseHaproxy(seed("affinity.cfg"), "affinity.cfg").tree);
  assert(yaml.includes("# ignored by wtproxy: user haproxy\n"));
  assert(
    yaml.includes("    # was 'contimeout 5000' (HAProxy 2.1+ refuses it)\n    connect: 5000\n"),
  );
  assert(yaml.includes("      - { backend: bck1, if: srv1_up srv1 }\n"));
  assert(yaml.includes("      srv1_up: nbsrv(bck1) gt 0\n"));
});

Deno.test("toYaml quotes what YAML would misread", () => {
  const s = (value: string | number | boolean | null) => ({
    kind: "scalar" as const,
    value,
    loc: { file: "t", line: 1, col: 1 },
  });
  const values = [
    "yes",
    "no",
    "on",
    "null",
    "~",
    "123",
    "1.5",
    "0x1F",
    "",
    " lead",
    "trail ",
    "a: b",
    "a #b",
    "#x",
    "-x",
    "[x]",
    "{ path_beg /api }",
    "!legacy",
    "*:80",
    ":80",
    "tab\there",
    "line\nbreak",
    'quote"s',
    "it's",
    "%[x]",
    "@x",
    "`x`",
    "x,y",
    "\\.[0-9]\\.js$",
  ];
  const tree = {
    kind: "map" as const,
    loc: { file: "t", line: 1, col: 1 },
    entries: [
      ...values.map((v, i) => ({ key: `k${i}`, keyLoc: s(0).loc, value: s(v) })),
      {
        key: "list",
        keyLoc: s(0).loc,
        value: { kind: "seq" as const, loc: s(0).loc, items: values.map((v) => s(v)) },
      },
      {
        key: "maps",
        keyLoc: s(0).loc,
        value: {
          kind: "seq" as const,
          loc: s(0).loc,
          items: values.map((v) => ({
            kind: "map" as const,
            loc: s(0).loc,
            entries: [{ key: "v", keyLoc: s(0).loc, value: s(v) }],
          })),
        },
      },
      { key: "0.0.0.0:8181", keyLoc: s(0).loc, value: s(true) },
      { key: "n", keyLoc: s(0).loc, value: s(null) },
    ],
  };
  const back = parseYaml(toYaml(tree), "t.yaml");
  assertEquals(back.diagnostics, []);
  assertEquals(plain(back.tree), plain(tree));
});

Deno.test("wtproxy --to-yaml -f affinity.cfg prints YAML that checks clean", async () => {
  const main = new URL("../../src/main.ts", import.meta.url).pathname;
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", main, ...args] }).output();
  const out = await run(["--to-yaml", "-f", `${SEED}/affinity.cfg`]);
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  assert(stdout.startsWith("# wtproxy configuration converted from affinity.cfg"));
  assert(stderr.includes("affinity.cfg:21:5: warning: the 'contimeout' directive"));
  const tmp = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(tmp, stdout);
    const check = await run(["-c", "-f", tmp]);
    assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
  } finally {
    await Deno.remove(tmp);
  }
  const none = await run(["--to-yaml"]);
  assertEquals(none.code, 2);
});
