// Broken .cfg files (tests/fixtures/cfg/bad-*.cfg) and their expected messages. Each fixture
// lists what a user must see in `#! error|warning LINE:COL text` comment lines: every listed
// message must be reported at that place with that text, and no other error may appear.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError, type Diagnostic, formatDiagnostic } from "../../src/config/model.ts";

const DIR = "tests/fixtures/cfg";

interface Expected {
  severity: "error" | "warning";
  line: number;
  col: number;
  text: string;
}

function expectations(text: string): Expected[] {
  const out: Expected[] = [];
  for (const m of text.matchAll(/^#! (error|warning) (\d+):(\d+) (.*)$/gm)) {
    out.push({
      severity: m[1] as Expected["severity"],
      line: Number(m[2]),
      col: Number(m[3]),
      text: m[4],
    });
  }
  return out;
}

function check(file: string, diags: Diagnostic[], expected: Expected[]) {
  const shown = diags.map(formatDiagnostic).join("\n");
  for (const e of expected) {
    assert(
      diags.some((d) =>
        d.severity === e.severity && d.line === e.line && d.col === e.col &&
        d.file === file && d.message.includes(e.text)
      ),
      `expected ${e.severity} at ${e.line}:${e.col} containing "${e.text}"; got:\n${shown}`,
    );
  }
  const errors = diags.filter((d) => d.severity === "error");
  assertEquals(
    errors.length,
    expected.filter((e) => e.severity === "error").length,
    `unexpected errors:\n${shown}`,
  );
}

const bad = [...Deno.readDirSync(DIR)]
  .map((e) => e.name)
  .filter((n) => n.startsWith("bad-") && n.endsWith(".cfg") && n !== "bad-refs.cfg")
  .sort();

for (const name of bad) {
  Deno.test(`cfg corpus: ${name} is refused with its HAProxy-worded errors`, () => {
    const file = `${DIR}/${name}`;
    const text = Deno.readTextFileSync(file);
    const expected = expectations(text);
    assert(expected.length > 0, `${name} lists no expected message`);
    const { diagnostics } = parseHaproxy(text, file, { env: () => undefined });
    check(file, diagnostics, expected);
  });
}

Deno.test("cfg corpus: every bad-*.cfg also fails loadConfigText (check mode refuses it)", async () => {
  for (const name of [...bad, "bad-refs.cfg"]) {
    const file = `${DIR}/${name}`;
    const text = Deno.readTextFileSync(file);
    let failed = false;
    try {
      await loadConfigText(text, file);
    } catch (err) {
      assert(err instanceof ConfigError, `${name}: ${err}`);
      failed = true;
      // every line of the message is FILE:LINE:COL: severity: text
      for (const line of err.message.split("\n")) {
        assert(/^[^:]+\.cfg:\d+:\d+: (error|warning): /.test(line), `${name}: ${line}`);
      }
    }
    assert(failed, `${name} loaded without error`);
  }
});

Deno.test("cfg corpus: bad-refs.cfg — references are checked by the model builder at .cfg lines", async () => {
  const file = `${DIR}/bad-refs.cfg`;
  const text = Deno.readTextFileSync(file);
  // the .cfg syntax itself is fine
  const parsed = parseHaproxy(text, file);
  assertEquals(parsed.diagnostics.filter((d) => d.severity === "error"), []);
  const err = await loadConfigText(text, file).then(() => null, (e) => e);
  assert(err instanceof ConfigError);
  // The line is this file's; the column and wording are the builder's (shared with YAML).
  const at = (line: number, text: string) =>
    assert(
      err.diagnostics.some((d) =>
        d.severity === "error" && d.file === file && d.line === line && d.message.includes(text)
      ),
      `no error at line ${line} with "${text}" in:\n${err.message}`,
    );
  at(10, "nope"); // use_backend nope
  at(11, "undefined_acl"); // unknown ACL
  at(14, "track"); // check + track on s1, and s2 has no check
  at(16, "300"); // weight out of range
  at(17, "99999"); // bad port
  at(18, "2x"); // bad duration
});

Deno.test("cfg corpus: warn-unsupported.cfg — each ignored directive is named at its line", async () => {
  const file = `${DIR}/warn-unsupported.cfg`;
  const text = Deno.readTextFileSync(file);
  const { diagnostics } = parseHaproxy(text, file);
  assertEquals(diagnostics.filter((d) => d.severity === "error"), []);
  const warnings = diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
  const expect = (line: number, col: number, text: string) =>
    assert(
      warnings.some((w) => w.startsWith(`${line}:${col} `) && w.includes(text)),
      `no warning at ${line}:${col} with "${text}" in:\n${warnings.join("\n")}`,
    );
  expect(4, 5, "'chroot' is not supported by wtproxy and is ignored");
  expect(5, 5, "'pidfile'");
  expect(6, 5, "'stats' is not supported by wtproxy and is ignored: wtproxy serves stats");
  expect(7, 5, "'cpu-map'");
  expect(8, 5, "'tune.ssl.default-dh-param'");
  expect(12, 5, "'option log-health-checks'");
  expect(16, 5, "'timeout tarpit'");
  expect(17, 5, "'compression'");
  expect(20, 17, "'name' is not supported");
  expect(20, 26, "'v4v6'");
  expect(21, 5, "'capture'");
  expect(22, 11, "'stats scope' is not supported by wtproxy and is ignored");
  expect(23, 5, "'retries' ignored because frontend 'web' has no backend capability.");
  expect(
    24,
    5,
    "'timeout server' will be ignored because frontend 'web' has no backend capability",
  );
  expect(25, 20, "CLF");
  expect(26, 19, "'len 2048' is ignored");
  expect(26, 35, "format 'rfc5424'");
  expect(30, 5, "'maxconn' ignored because backend 'app' has no frontend capability.");
  expect(31, 5, "'httplog' ignored because backend 'app' has no frontend capability.");
  expect(32, 23, "'option redispatch 2': the interval is ignored");
  expect(33, 37, "'slowstart'");
  expect(33, 51, "'id'");
  // line 35: `resolvers dns` is implemented (DNS discovery): no warning
  assertEquals(warnings.length, 22, warnings.join("\n"));
  // and the file runs: the ignored directives leave a loadable configuration
  const loaded = await loadConfigText(text, file);
  assertEquals(loaded.config.frontends.map((f) => f.name), ["web"]);
  assertEquals(loaded.config.frontends[0].settings.retries, 3); // frontend `retries` ignored
  assertEquals(loaded.config.backends[0].settings.options.redispatch, true);
});
