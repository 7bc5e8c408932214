// `wt-sessions` in YAML (global.wt-sessions) and in a .cfg `global` section (wtproxy-only
// keyword): defaults, values, bad input with FILE:LINE:COL, --to-yaml, `balance sessions`.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { ConfigError } from "../../src/config/model.ts";

const yaml = (global: string, balance = "roundrobin") => `
global:
${global}
frontends:
  f: { bind: "127.0.0.1:0", default_backend: b, timeouts: { client: 5s } }
backends:
  b:
    balance: ${balance}
    timeouts: { connect: 1s, server: 5s }
    servers: { s1: { address: "127.0.0.1:1" } }
`;

async function errors(text: string, file = "t.yaml"): Promise<string[]> {
  try {
    await loadConfigText(text, file);
  } catch (err) {
    if (err instanceof ConfigError) {
      return err.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
    }
    throw err;
  }
  return [];
}

Deno.test("wt-sessions (YAML): off by default, true = Wt's defaults, a map sets each value", async () => {
  const off = await loadConfigText(yaml("  maxconn: 10"), "t.yaml");
  assertEquals(off.config.global.wtSessions, null);
  const on = await loadConfigText(yaml("  wt-sessions: true"), "t.yaml");
  const w = on.config.global.wtSessions!;
  assertEquals([w.param, w.timeout, w.max], ["wtd", 600_000, 100_000]);
  const set = await loadConfigText(
    yaml("  wt-sessions: { param: sid, timeout: 10m, max: 5000 }", "sessions"),
    "t.yaml",
  );
  const s = set.config.global.wtSessions!;
  assertEquals([s.param, s.timeout, s.max], ["sid", 600_000, 5000]);
});

Deno.test("wt-sessions (YAML): bad values are errors at their place", async () => {
  assertEquals(await errors(yaml("  wt-sessions: { parm: wtd }")), [
    '3:18: unknown key "parm" in global.wt-sessions (did you mean "param"?)',
  ]);
  assertEquals(await errors(yaml("  wt-sessions: { timeout: 0, max: -1, param: a&b }")), [
    "3:27: global.wt-sessions.timeout: must be greater than 0",
    "3:35: global.wt-sessions.max: -1 is out of range (1 to 10000000)",
    '3:46: global.wt-sessions.param: "a&b" is not a URL parameter name (Wt\'s is wtd)',
  ]);
  assertEquals(await errors(yaml("  wt-sessions: yes please")), [
    '3:16: global.wt-sessions: expected true, false or { param, timeout, max }, got "yes please"',
  ]);
  assertEquals(await errors(yaml("  maxconn: 10", "sessions")), [
    "8:14: backend b: 'balance sessions' counts live Wt sessions: set global.wt-sessions " +
    "(e.g. { param: wtd, timeout: 600s })",
  ]);
});

const CFG = (line: string) =>
  `global
    maxconn 100
    ${line}

defaults
    mode http
    timeout connect 5s
    timeout client 50s
    timeout server 50s

frontend f
    bind 127.0.0.1:8080
    default_backend b

backend b
    balance sessions
    server s1 127.0.0.1:9090
`;

Deno.test("wt-sessions (.cfg): a wtproxy-only global keyword, rendered by --to-yaml", async () => {
  const { config } = await loadConfigText(
    CFG("wt-sessions param wtd timeout 10m max 5000"),
    "t.cfg",
  );
  const w = config.global.wtSessions!;
  assertEquals([w.param, w.timeout, w.max], ["wtd", 600_000, 5000]);
  assertEquals(w.loc.line, 3);
  const bare = await loadConfigText(CFG("wt-sessions"), "t.cfg");
  assertEquals(bare.config.global.wtSessions!.timeout, 600_000);
  const out = toYaml(parseHaproxy(CFG("wt-sessions param wtd timeout 10m"), "t.cfg").tree);
  assert(out.includes("  wt-sessions:\n    param: wtd\n    timeout: 10m\n"), out);
  assertEquals(
    toYaml(parseHaproxy(CFG("wt-sessions"), "t.cfg").tree).includes(
      "  wt-sessions: true\n",
    ),
    true,
  );
});

Deno.test("wt-sessions (.cfg): bad words and values name their place", async () => {
  assertEquals(await errors(CFG("wt-sessions param wtd bogus 2"), "t.cfg"), [
    "3:27: 'wt-sessions': unknown word 'bogus' (expected param NAME, timeout DURATION, max N)",
  ]);
  assertEquals(await errors(CFG("wt-sessions timeout"), "t.cfg"), [
    "3:17: 'wt-sessions timeout' expects a value.",
  ]);
  const bad = await errors(CFG("wt-sessions timeout 5x"), "t.cfg");
  assertEquals(bad.length, 1);
  assert(bad[0].startsWith("3:25: ") && bad[0].includes('invalid duration "5x"'), bad[0]);
  // A HAProxy file without it runs as today; `balance sessions` then needs it.
  const none = await errors(CFG("log-tag x"), "t.cfg");
  assertEquals(none.length, 1);
  assert(none[0].includes("'balance sessions' counts live Wt sessions"), none[0]);
});
