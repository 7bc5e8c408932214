// A table of bad configurations: each must be refused with its message at FILE:LINE:COL,
// and every problem of a file must be reported in the same run.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError, formatDiagnostic } from "../../src/config/model.ts";

/** Errors and warnings as the CLI prints them; [] when the file loads. */
async function messages(text: string): Promise<string[]> {
  try {
    const { warnings } = await loadConfigText(text, "t.yaml");
    return warnings.map(formatDiagnostic);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.diagnostics.map(formatDiagnostic);
  }
}

const TIMEOUTS = "defaults:\n  timeouts: { connect: 5s, client: 50s, server: 50s }\n";
/** A valid frontend + backend after which a case adds its lines (line 9 is the next one). */
const BASE = TIMEOUTS + `frontends:
  f:
    bind: "127.0.0.1:0"
    default_backend: b
backends:
  b:
    servers: { s1: "127.0.0.1:9001" }
`;

const cases: { name: string; yaml: string; want: string }[] = [
  {
    name: "unknown top-level key, near miss",
    yaml: BASE + "frontend:\n  x: {}\n",
    want:
      't.yaml:10:1: error: unknown key "frontend" in the configuration (did you mean "frontends"?)',
  },
  {
    name: "unknown key, no near miss: the valid keys are listed",
    yaml: BASE + "admin:\n  bind: 127.0.0.1:9100\n  colour: red\n",
    want: 't.yaml:12:3: error: unknown key "colour" in admin (expected one of: bind, token)',
  },
  {
    name: "HAProxy 1.x spelling gets a hint",
    yaml: "defaults:\n  contimeout: 5000\n" + BASE.slice(TIMEOUTS.length),
    want:
      't.yaml:2:3: error: unknown key "contimeout" in defaults (write it as timeouts: { connect: ... } ("contimeout" is HAProxy 1.x))',
  },
  {
    name: "option spelled with underscores",
    yaml: BASE + "    options: { http_server_close: true }\n",
    want:
      't.yaml:10:16: error: unknown key "http_server_close" in backends.b.options (did you mean "http-server-close"?)',
  },
  {
    name: "wrong type",
    yaml: BASE + "    retries: three\n",
    want: 't.yaml:10:14: error: backends.b.retries: expected a whole number, got "three"',
  },
  {
    name: "boolean expected",
    yaml: BASE + "    options: { redispatch: yes }\n",
    want: 't.yaml:10:28: error: backends.b.options.redispatch: expected true or false, got "yes"',
  },
  {
    name: "bad duration",
    yaml: BASE + "    timeouts: { server: 5sec }\n",
    want:
      't.yaml:10:25: error: backends.b.timeouts.server: invalid duration "5sec": unknown unit "sec" (use us, ms, s, m, h or d)',
  },
  {
    name: "bad bind address",
    yaml: BASE.replace("backends:", '  g:\n    bind: ["0.0.0.0:80", "[::1:80"]\nbackends:'),
    want:
      't.yaml:8:26: error: frontends.g.bind[1]: invalid address "[::1:80": missing "]" after the IPv6 address',
  },
  {
    name: "bad server port",
    yaml: BASE + "  c:\n    servers: { s1: 127.0.0.1:99999 }\n",
    want:
      't.yaml:11:20: error: backends.c.servers.s1.address: invalid port 99999 in "127.0.0.1:99999": expected a number from 1 to 65535',
  },
  {
    name: "server without a port",
    yaml: BASE + "  c:\n    servers: { s1: { address: localhost } }\n",
    want:
      't.yaml:11:31: error: backends.c.servers.s1.address: invalid address "localhost": missing port (expected host:port, [ipv6]:port, *:port or 0.0.0.0:port)',
  },
  {
    name: "duplicate frontend name",
    yaml: TIMEOUTS +
      'frontends:\n  f: { bind: ":0", default_backend: b }\n  f: { bind: ":1", default_backend: b }\nbackends: { b: {} }\n',
    want: "t.yaml:5:3: error: frontend 'f' has the same name as the frontend declared at line 4",
  },
  {
    name: "use_backend naming a missing backend",
    yaml: BASE.replace(
      "    default_backend: b\n",
      "    acls: { a: path_beg /a }\n    use_backend:\n      - { backend: bb, if: a }\n",
    ),
    want: "t.yaml:8:20: error: unable to find required use_backend: 'bb' (did you mean 'b'?)",
  },
  {
    name: "default_backend naming a missing backend",
    yaml: BASE.replace("default_backend: b", "default_backend: nope"),
    want: "t.yaml:4:3: error: unable to find required default_backend: 'nope'",
  },
  {
    name: "use_backend without condition",
    yaml: BASE.replace("    default_backend: b\n", "    use_backend:\n      - { backend: b }\n"),
    want:
      't.yaml:7:9: error: frontends.f.use_backend[0]: missing condition ("if: ACL..." or "unless: ACL..."); use default_backend for a backend without condition',
  },
  {
    name: "check and track together",
    yaml: BASE +
      "  c:\n    servers:\n      s1: { address: 127.0.0.1:1, check: true, track: b/s1 }\n",
    want:
      "t.yaml:12:7: error: server c/s1: unable to enable checks and tracking at the same time (remove check: a tracking server takes the tracked server's state)",
  },
  {
    name: "tracking a server without check",
    yaml: BASE + "  c:\n    servers:\n      s1: { address: 127.0.0.1:1, track: b/s1 }\n",
    want:
      "t.yaml:12:7: error: server c/s1: tracked server 'b/s1' does not have any check enabled (add check: true to it)",
  },
  {
    name: "tracking a missing server",
    yaml: BASE + "  c:\n    servers:\n      s1: { address: 127.0.0.1:1, track: b/s2 }\n",
    want:
      "t.yaml:12:7: error: server c/s1: unable to find required server 's2' in backend 'b' for tracking (did you mean 's1'?)",
  },
  {
    name: "tracking a missing backend",
    yaml: BASE + "  c:\n    servers:\n      s1: { address: 127.0.0.1:1, track: x/s1 }\n",
    want:
      "t.yaml:12:7: error: server c/s1: unable to find required backend 'x' for tracking (did you mean 'b'?)",
  },
  {
    name: "track cycle",
    yaml: BASE +
      "  c:\n    servers:\n      s1: { address: 127.0.0.1:1, track: s2 }\n      s2: { address: 127.0.0.1:2, track: c/s1 }\n",
    want: "t.yaml:12:7: error: server c/s1: track cycle c/s1 -> c/s2 -> c/s1",
  },
  {
    name: "no frontend at all",
    yaml: TIMEOUTS + "backends:\n  b:\n    servers: { s1: 127.0.0.1:1 }\n",
    want:
      "t.yaml:1:1: error: no frontend: nothing would listen (add a `frontends:` section with a `bind` address)",
  },
  {
    name: "weight out of range",
    yaml: BASE + "  c:\n    servers: { s1: { address: 127.0.0.1:1, weight: 257 } }\n",
    want: "t.yaml:11:52: error: backends.c.servers.s1.weight: 257 is out of range (0 to 256)",
  },
  {
    name: "an http frontend with a tcp backend",
    yaml: BASE + "    mode: tcp\n",
    want:
      "t.yaml:4:3: error: http frontend 'f' (t.yaml:4) tries to use incompatible tcp backend 'b' (t.yaml:8) as its default backend (see 'mode').",
  },
  {
    name: "unknown mode",
    yaml: BASE + "    mode: udp\n",
    want: 't.yaml:10:11: error: backends.b.mode: unknown mode "udp" ("http" or "tcp")',
  },
  {
    name: "'/' in a proxy name",
    yaml: BASE + "  a/b: {}\n",
    want:
      "t.yaml:10:3: error: character '/' is not permitted in backend name 'a/b' (letters, digits, '-', '_', '.' and ':' are)",
  },
  {
    name: "admin on a public address without token",
    yaml: BASE + "admin: { bind: 0.0.0.0:9100 }\n",
    want:
      "t.yaml:10:16: error: admin.bind: 0.0.0.0:9100 is reachable from other machines: set admin.token, or bind 127.0.0.1",
  },
  {
    name: "log target with a bad facility",
    yaml: "global:\n  log:\n    - { address: 127.0.0.1, facility: local8 }\n" + BASE,
    want:
      't.yaml:3:39: error: global.log[0].facility: unknown value "local8" (did you mean "local0"?); expected one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, auth2, ftp, ntp, audit, alert, cron2, local0, local1, local2, local3, local4, local5, local6, local7',
  },
  {
    name: "http-check expect that is not a status",
    yaml: BASE + "    http-check: { expect: status OK }\n",
    want:
      't.yaml:10:27: error: backends.b.http-check.expect: "OK" is not a status code or range such as 200 or 200-399',
  },
];

for (const c of cases) {
  Deno.test(`bad config: ${c.name}`, async () => {
    const got = await messages(c.yaml);
    assert(got.includes(c.want), `expected\n  ${c.want}\ngot\n  ${got.join("\n  ")}`);
  });
}

Deno.test("bad config: a frontend without bind", async () => {
  const yaml = BASE.replace('    bind: "127.0.0.1:0"\n', "");
  assertEquals((await messages(yaml)).filter((m) => m.includes("error")), [
    `t.yaml:4:3: error: frontend 'f' has no bind: add e.g. bind: "0.0.0.0:8080" (a section that should not listen belongs under backends)`,
  ]);
});

Deno.test("bad config: two frontends on one address", async () => {
  // The same port on a wildcard and on an address of its family clashes.
  const text = TIMEOUTS + `frontends:
  f: { bind: "*:8080", default_backend: b }
  g: { bind: "127.0.0.1:8080", default_backend: b }
backends: { b: { servers: { s1: "127.0.0.1:1" } } }
`;
  assert(
    (await messages(text)).includes(
      "t.yaml:5:14: error: 127.0.0.1:8080 is already bound by frontend 'f' (line 4)",
    ),
  );
});

Deno.test("bad config: ACL errors come from the ACL validator, with their place", async () => {
  const yaml = BASE.replace(
    "    default_backend: b\n",
    "    acls: { up: nbsrv(nope) gt 0 }\n    use_backend:\n      - { backend: b, if: up other }\n",
  );
  const got = await messages(yaml);
  assert(
    got.some((m) => m.startsWith("t.yaml:6:23: error:") && m.includes("nope")),
    got.join("\n"),
  );
  assert(got.some((m) => m.startsWith("t.yaml:8:") && m.includes("other")), got.join("\n"));
});

Deno.test("bad config: every problem is reported in one run, in file order", async () => {
  const yaml = BASE + "    retries: -1\n    balance: leastconns\n  c: { servers: { s: x } }\n";
  const got = (await messages(yaml)).filter((m) => m.includes(": error: "));
  assertEquals(got.length, 3, got.join("\n"));
  assertEquals(got.map((m) => Number(m.split(":")[1])), [10, 11, 12]);
  assert(got[0].startsWith("t.yaml:10:14: error: backends.b.retries: -1"), got[0]);
  assert(got[1].startsWith("t.yaml:11:14: error: ") && got[1].includes("leastconns"), got[1]);
  assert(
    got[2].startsWith('t.yaml:12:22: error: backends.c.servers.s.address: invalid address "x"'),
    got[2],
  );
});

Deno.test("warnings: missing timeouts (as HAProxy warns), the config still loads", async () => {
  const yaml = BASE.slice(TIMEOUTS.length);
  assertEquals(await messages(yaml), [
    "t.yaml:2:3: warning: missing timeouts for frontend 'f': client (set timeouts.client here or in defaults; without it an idle client holds its connection forever)",
    "t.yaml:6:3: warning: missing timeouts for backend 'b': connect, server (set them under timeouts here or in defaults; without them a stuck server holds a connection forever)",
  ]);
});
