// `http-check disable-on-404` in both formats: what it becomes in the model (also from
// `defaults`), the --to-yaml round trip, and bad input: an argument, a non-boolean, no httpchk
// (a warning, as HAProxy), a track between backends that disagree (HAProxy's error).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { type Config, ConfigError, type Diagnostic } from "../../src/config/model.ts";
import { judge } from "../../src/health/http.ts";

async function diagnostics(text: string, file: string): Promise<string[]> {
  try {
    const { warnings } = await loadConfigText(text, file);
    return warnings.map(show);
  } catch (err) {
    if (err instanceof ConfigError) return err.diagnostics.map(show);
    throw err;
  }
}

function show(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col} ${d.severity}: ${d.message}`;
}

const d404 = (c: Config, backend: string) =>
  c.backends.find((b) => b.name === backend)!.settings.options.httpchk?.disableOn404 ?? false;

const CFG = `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s

backend own
  option httpchk GET /health
  http-check disable-on-404
  server a 127.0.0.1:8080 check

backend plain
  option httpchk GET /health
  server b 127.0.0.1:8081 check

defaults inherited
  mode http
  option httpchk GET /health
  http-check disable-on-404
  timeout connect 1s
  timeout client 5s
  timeout server 5s

backend heir from inherited
  server c 127.0.0.1:8082 check

frontend f from inherited
  bind 127.0.0.1:0
  default_backend own
`;

Deno.test("disable-on-404 .cfg: on the backend that says it (or its defaults), off elsewhere; --to-yaml keeps it", async () => {
  const { config } = await loadConfigText(CFG, "t.cfg");
  assertEquals([d404(config, "own"), d404(config, "plain"), d404(config, "heir")], [
    true,
    false,
    true,
  ]);
  const yaml = toYaml(parseHaproxy(CFG, "t.cfg").tree);
  assert(yaml.includes("disable-on-404: true"), yaml);
  const back = (await loadConfigText(yaml, "t.yaml")).config;
  assertEquals([d404(back, "own"), d404(back, "plain"), d404(back, "heir")], [true, false, true]);
});

Deno.test("disable-on-404: bad input names its place; no httpchk is a warning; a track across disagreeing backends is refused", async () => {
  const errors = (ds: string[]) => ds.filter((d) => d.includes(" error: "));
  assertEquals(
    errors(
      await diagnostics(
        "backend b\n  option httpchk\n  http-check disable-on-404 now\n  server s 127.0.0.1:1 check\n",
        "a.cfg",
      ),
    ),
    ["a.cfg:3:29 error: 'http-check disable-on-404' takes no argument."],
  );
  const yamlBad = `backends:
  b:
    options: { httpchk: true }
    http-check: { disable-on-404: "yes" }
    servers: { s: { address: "127.0.0.1:1", check: true } }
`;
  const bad = await diagnostics(yamlBad, "b.yaml");
  assert(
    bad.some((d) =>
      d.startsWith(
        "b.yaml:4:35 error: backends.b.http-check.disable-on-404: expected true or false",
      )
    ),
    bad.join("\n"),
  );
  const noChk = await diagnostics(
    "backend b\n  http-check disable-on-404\n  server s 127.0.0.1:1 check\n",
    "c.cfg",
  );
  assert(
    noChk.some((d) =>
      d.startsWith("c.cfg:2:14 warning:") && d.includes("without 'option httpchk'")
    ),
    noChk.join("\n"),
  );
  const track = `backend b
  option httpchk
  http-check disable-on-404
  server s 127.0.0.1:1 check

backend t
  server u 127.0.0.1:1 track b/s
`;
  assertEquals(
    errors(await diagnostics(track, "d.cfg")).filter((d) => d.includes("tracking")),
    [
      "d.cfg:7:10 error: server t/u: unable to use b/s for tracking: disable-on-404 option " +
      "inconsistency (http-check.disable-on-404 is false in backend 't' and true in backend 'b')",
    ],
  );
});

Deno.test("disable-on-404 check verdict: a 404 passes conditionally (L7OKCD), even against an expect rule", () => {
  const answer = (code: number) => ({
    code,
    reasonPhrase: code === 404 ? "Not Found" : "OK",
    body: "",
    complete: true,
  });
  const hc = { method: "GET", uri: "/health", version: "HTTP/1.0", expect: null };
  assertEquals(judge({ ...hc, disableOn404: true }, answer(404)), { status: "L7OKCD", code: 404 });
  assertEquals(
    judge(
      { ...hc, disableOn404: true, expect: { kind: "status", value: "200" } },
      answer(404),
    ),
    { status: "L7OKCD", code: 404 },
  );
  // Without the option a 404 is a wrong status, as before.
  assertEquals(judge(hc, answer(404))?.status, "L7STS");
  assertEquals(judge({ ...hc, disableOn404: true }, answer(200))?.status, "L7OK");
});
