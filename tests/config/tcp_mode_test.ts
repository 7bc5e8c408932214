// mode tcp and the health-check variants in both formats: what a .cfg line becomes in the
// model, what YAML says for it (--to-yaml round trip), and the errors, in HAProxy's words.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { type Config, ConfigError, type Diagnostic } from "../../src/config/model.ts";

async function load(text: string, file = "t.cfg"): Promise<Config> {
  return (await loadConfigText(text, file)).config;
}

async function errors(text: string, file = "t.cfg"): Promise<string[]> {
  try {
    await loadConfigText(text, file);
  } catch (err) {
    if (err instanceof ConfigError) {
      return err.diagnostics.filter((d) => d.severity === "error").map(show);
    }
    throw err;
  }
  return [];
}

function show(d: Diagnostic): string {
  return `${d.line}:${d.col} ${d.message}`;
}

const TCP_CFG = `defaults
  mode tcp
  timeout connect 4s
  timeout client 30m
  timeout server 30m
  timeout client-fin 10s
  timeout server-fin 20s
  option tcplog

frontend sni
  bind 127.0.0.1:8443
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  tcp-request content reject
  acl is_db req_ssl_sni -i db.example.org
  use_backend db if is_db
  default_backend redis

backend db
  balance leastconn
  option tcp-check
  tcp-check connect port 8008
  tcp-check send PING\\r\\n
  tcp-check send-binary 0a0b
  tcp-check expect min-recv 5 ! string -ERR
  tcp-check expect rstring ^\\+PONG
  server db1 127.0.0.1:5432 check addr 127.0.0.1 port 8008 on-marked-down shutdown-sessions

backend redis
  option redis-check
  server r1 127.0.0.1:6379 check

backend my
  option mysql-check user haproxy pre-41
  server m1 127.0.0.1:3306 check

backend pg
  option pgsql-check user postgres
  server p1 127.0.0.1:5432 check

backend tls
  option ssl-hello-chk
  server t1 127.0.0.1:443 check

backend web
  mode http
  option httpchk
  http-check send meth GET uri /health ver HTTP/1.1 hdr Host www.example.org
  http-check expect ! status 503
  server w1 127.0.0.1:80 check
`;

Deno.test("mode tcp .cfg: frontend rules, checks and server keywords reach the model", async () => {
  const c = await load(TCP_CFG);
  const fe = c.frontends[0];
  assertEquals(fe.settings.mode, "tcp");
  assertEquals(fe.settings.options.tcplog, true);
  assertEquals([fe.settings.timeouts.clientFin, fe.settings.timeouts.serverFin], [10000, 20000]);
  assertEquals(fe.tcpRequest?.inspectDelay, 5000);
  assertEquals(
    fe.tcpRequest?.content.map((r) => [r.action, r.polarity, r.condition]),
    [["accept", "if", "{ req_ssl_hello_type 1 }"], ["reject", null, ""]],
  );
  const be = (n: string) => c.backends.find((b) => b.name === n)!;
  const spec = be("db").settings.options.tcpCheck;
  assert(spec?.kind === "tcp-check");
  assertEquals(
    spec.rules.map((r) =>
      r.kind === "connect"
        ? ["connect", r.port]
        : r.kind === "send"
        ? ["send", [...r.data]]
        : ["expect", r.match, r.pattern, r.negate, r.minRecv ?? null]
    ),
    [
      ["connect", 8008],
      ["send", [80, 73, 78, 71, 13, 10]],
      ["send", [10, 11]],
      ["expect", "string", "-ERR", true, 5],
      ["expect", "rstring", "^\\+PONG", false, null],
    ],
  );
  const s = be("db").servers[0];
  assertEquals([s.checkAddr, s.checkPort, s.onMarkedDown], [
    "127.0.0.1",
    8008,
    "shutdown-sessions",
  ]);
  assertEquals(be("redis").settings.options.tcpCheck, { kind: "redis" });
  assertEquals(be("my").settings.options.tcpCheck, {
    kind: "mysql",
    user: "haproxy",
    post41: false,
  });
  assertEquals(be("pg").settings.options.tcpCheck, { kind: "pgsql", user: "postgres" });
  assertEquals(be("tls").settings.options.tcpCheck, { kind: "ssl-hello" });
  const web = be("web").settings;
  assertEquals(web.mode, "http");
  assertEquals(web.options.httpchk, {
    method: "GET",
    uri: "/health",
    version: "HTTP/1.1",
    headers: [["Host", "www.example.org"]],
    expect: { kind: "status", value: "503", negate: true },
  });
});

Deno.test("mode tcp .cfg -> YAML -> the same model", async () => {
  const fromCfg = await load(TCP_CFG);
  const parsed = parseHaproxy(TCP_CFG, "t.cfg");
  const yaml = toYaml(parsed.tree);
  const fromYaml = await load(yaml, "t.yaml");
  const strip = (c: Config) =>
    JSON.stringify(
      { f: c.frontends, b: c.backends },
      (k, v) => (k === "loc" || k === "keyLoc" || k === "backendLoc"
        ? undefined
        : v instanceof Uint8Array
        ? [...v]
        : v),
    );
  assertEquals(strip(fromYaml), strip(fromCfg));
  assert(yaml.includes("mode: tcp"), yaml);
  assert(yaml.includes("tcp-check:"), yaml);
});

Deno.test("mode tcp: the last check option wins; defaults' check is replaced by a backend's", async () => {
  const c = await load(`defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
  option httpchk GET /

frontend f
  bind 127.0.0.1:0
  default_backend a

backend a
  option redis-check
  server s 127.0.0.1:1 check

backend b
  option redis-check
  option httpchk GET /ok
  server s 127.0.0.1:1 check

backend c
  server s 127.0.0.1:1 check
`);
  const o = (n: string) => c.backends.find((b) => b.name === n)!.settings.options;
  assertEquals([o("a").tcpCheck?.kind, o("a").httpchk], ["redis", null]);
  assertEquals([o("b").tcpCheck, o("b").httpchk?.uri], [null, "/ok"]);
  assertEquals([o("c").tcpCheck, o("c").httpchk?.uri], [null, "/"]);
});

Deno.test("mode tcp: bad lines get HAProxy's words at the right place", async () => {
  const head = `defaults
  timeout connect 1s
  timeout client 1s
  timeout server 1s
`;
  assertEquals(
    await errors(
      head + `frontend f
  mode http
  bind 127.0.0.1:1
  default_backend b
backend b
  mode tcp
  server s 127.0.0.1:2
`,
    ),
    ["9:3 http frontend 'f' (t.cfg:5) tries to use incompatible tcp backend 'b' (t.cfg:9) as its default backend (see 'mode')."]
      .map((m) => m.replace(/^9:3/, "5:10")),
  );
  const tcpHttp = await errors(
    head + `frontend f
  mode tcp
  bind 127.0.0.1:1
  use_backend b if TRUE
backend b
  mode http
  server s 127.0.0.1:2
`,
  );
  assertEquals(tcpHttp.length, 1);
  assert(
    tcpHttp[0].startsWith(
      "8:15 tcp frontend 'f' (t.cfg:5) uses http backend 'b' (t.cfg:9) in a 'use_backend' rule",
    ),
    tcpHttp[0],
  );
  assertEquals(
    await errors(
      head + `frontend f
  mode tcp
  bind 127.0.0.1:1
  tcp-request content lua.x
  tcp-request connection reject
  tcp-request inspect-delay
  default_backend b
backend b
  mode tcp
  option tcp-check
  tcp-check expect custom
  tcp-check send-binary zz
  tcp-check connect ssl
  option pgsql-check
  option mysql-check login x
  server s 127.0.0.1:2 on-marked-down mark-up
`,
    ),
    [
      "8:23 'tcp-request content lua.x' is not supported by wtproxy (only 'accept' and 'reject', with 'if'/'unless' conditions).",
      "9:15 'tcp-request connection' rules are not supported by wtproxy (only 'tcp-request inspect-delay' and 'tcp-request content accept|reject').",
      "10:15 'tcp-request inspect-delay' expects a positive delay in milliseconds.",
      "15:20 'tcp-check expect custom' is not supported by wtproxy (only 'string', 'binary', 'rstring' and 'rbinary').",
      "16:25 'tcp-check send-binary' : 'zz' is not a hexadecimal string.",
      "17:21 'tcp-check connect ssl' is not supported by wtproxy (only 'port <N>', 'default', 'linger' and 'comment').",
      "18:10 'option pgsql-check' expects 'user <username>' as argument.",
      "19:22 'option mysql-check' only supports optional values: 'user' (got 'login').",
      `20:39 'server s 127.0.0.1:2 on-marked-down mark-up' : expected "shutdown-sessions", got "mark-up"`,
    ],
  );
});

Deno.test("mode tcp YAML: tcp-request and checks, with their errors", async () => {
  const c = await load(
    `
defaults: { mode: tcp, timeouts: { connect: 1s, client: 1s, server: 1s } }
frontends:
  f:
    bind: 127.0.0.1:0
    tcp-request:
      inspect-delay: 2s
      content:
        - { action: accept, if: "{ req.ssl_sni -m found }" }
        - { action: reject }
    default_backend: b
backends:
  b:
    options: { tcp-check: true }
    tcp-check: ["send PING\\r\\n", "expect string +PONG"]
    servers:
      s: { address: 127.0.0.1:1, check: true, port: 2, on-marked-down: shutdown-sessions }
`,
    "t.yaml",
  );
  assertEquals(c.frontends[0].tcpRequest?.content.length, 2);
  assertEquals(c.backends[0].settings.options.tcpCheck?.kind, "tcp-check");
  assertEquals(c.backends[0].servers[0].checkPort, 2);
  const bad = await errors(
    `
frontends:
  f:
    bind: 127.0.0.1:0
    mode: http
    tcp-request: { content: [{ action: drop }] }
    default_backend: b
backends:
  b:
    options: { redis-check: true, httpchk: true, pgsql-check: true }
    tcp-check: ["expect blob x"]
    servers: { s: 127.0.0.1:1 }
`,
    "t.yaml",
  );
  assertEquals(bad.length >= 4, true, bad.join("\n"));
  assert(bad.some((m) => m.includes('unknown value "drop"')), bad.join("\n"));
  assert(bad.some((m) => m.includes("tcp-request rules need mode tcp")), bad.join("\n"));
  assert(bad.some((m) => m.includes("both choose the health check")), bad.join("\n"));
  assert(
    bad.some((m) => m.includes('unknown rule "expect blob x"') || m.includes('expected "expect')),
    bad.join("\n"),
  );
});

Deno.test("mode tcp: a layer-7 hash falls back to round robin with HAProxy's warning", async () => {
  const { config, warnings } = await loadConfigText(
    `defaults
  mode tcp
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend f
  bind 127.0.0.1:0
  default_backend b
backend b
  balance uri
  server s 127.0.0.1:1
`,
    "t.cfg",
  );
  assertEquals(config.backends[0].balance.algorithm, "roundrobin");
  assert(
    warnings.some((w) =>
      w.message ===
        "Layer 7 hash not possible for backend 'b' (needs 'mode http'). Falling back to round robin."
    ),
    warnings.map(show).join("\n"),
  );
});
