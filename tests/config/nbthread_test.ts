// global.nbthread / `nbthread N`: 1 to 64 in both formats, an error at FILE:LINE:COL otherwise,
// absent = not set (the command line then uses every CPU), and --to-yaml keeps it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError, formatDiagnostic } from "../../src/config/model.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { parseHaproxy } from "../../src/config/haproxy.ts";

const YAML_REST = `defaults:
  timeouts: { connect: 5s, client: 50s, server: 50s }
frontends:
  f: { bind: "127.0.0.1:0", default_backend: b }
backends:
  b: { servers: { s1: "127.0.0.1:9001" } }
`;
const CFG_REST = `defaults
    mode http
    timeout connect 5s
    timeout client 50s
    timeout server 50s
frontend f
    bind 127.0.0.1:0
    default_backend b
backend b
    server s1 127.0.0.1:9001
`;

async function errors(text: string, file: string): Promise<string[]> {
  try {
    await loadConfigText(text, file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
  }
}

Deno.test("nbthread: YAML and .cfg values 1..64 load; absent is not set", async () => {
  for (const n of [1, 2, 64]) {
    const y = await loadConfigText(`global:\n  nbthread: ${n}\n${YAML_REST}`, "t.yaml");
    assertEquals(y.config.global.nbthread, n);
    const c = await loadConfigText(`global\n    nbthread ${n}\n${CFG_REST}`, "t.cfg");
    assertEquals(c.config.global.nbthread, n);
  }
  const none = await loadConfigText(YAML_REST, "t.yaml");
  assertEquals(none.config.global.nbthread, undefined);
});

Deno.test("nbthread: 0, more than 64, not a number: an error at FILE:LINE:COL", async () => {
  assertEquals(await errors(`global:\n  nbthread: 0\n${YAML_REST}`, "t.yaml"), [
    "t.yaml:2:13: error: global.nbthread: 0 is out of range (1 to 64)",
  ]);
  assertEquals(await errors(`global:\n  nbthread: 65\n${YAML_REST}`, "t.yaml"), [
    "t.yaml:2:13: error: global.nbthread: 65 is out of range (1 to 64)",
  ]);
  assertEquals(await errors(`global:\n  nbthread: two\n${YAML_REST}`, "t.yaml"), [
    't.yaml:2:13: error: global.nbthread: expected a whole number, got "two"',
  ]);
  assertEquals(await errors(`global\n    nbthread 0\n${CFG_REST}`, "t.cfg"), [
    "t.cfg:2:14: error: 'nbthread 0' : 0 is out of range (1 to 64)",
  ]);
  assertEquals(await errors(`global\n    nbthread 65\n${CFG_REST}`, "t.cfg"), [
    "t.cfg:2:14: error: 'nbthread 65' : 65 is out of range (1 to 64)",
  ]);
  assertEquals(await errors(`global\n    nbthread 1.5\n${CFG_REST}`, "t.cfg"), [
    "t.cfg:2:14: error: 'nbthread 1.5' : expected a whole number, got \"1.5\"",
  ]);
  const missing = await errors(`global\n    nbthread\n${CFG_REST}`, "t.cfg");
  assert(
    missing.includes("t.cfg:2:5: error: 'nbthread' expects an integer argument."),
    missing.join("\n"),
  );
});

Deno.test("nbthread: --to-yaml renders it", async () => {
  const text = `global\n    nbthread 4\n${CFG_REST}`;
  const yaml = toYaml(parseHaproxy(text, "t.cfg").tree);
  assert(/global:\n\s+nbthread: 4\n/.test(yaml), yaml);
  const back = await loadConfigText(yaml, "t.yaml");
  assertEquals(back.config.global.nbthread, 4);
});
