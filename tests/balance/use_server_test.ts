// `use-server NAME if|unless COND` (HAProxy's server rules) end to end: side by side with the
// real HAProxy 2.6 on one .cfg (the Wt routing done in one backend: the session's server while
// it is up, else balanced), a DRAIN server still taken (only DOWN and MAINT are skipped), and
// bad input in both formats.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { type Config, ConfigError } from "../../src/config/model.ts";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { setAdminState } from "../../src/health/machine.ts";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";
import { testRuntime } from "../helpers/threads.ts";
import { waitFor } from "../health/helpers.ts";
import { closedPort } from "../helpers/raw_backend.ts";

/** A backend answering its name. */
function named(name: string) {
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(name),
  );
  return { port: srv.addr.port, close: () => srv.shutdown() };
}

const cfg = (port: number, p1: number, p2: number) =>
  `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:${port}
  default_backend wt
backend wt
  balance roundrobin
  acl wt1 url_sub wtd=wt1
  acl wt2 url_sub wtd=wt2
  use-server s1 if wt1
  use-server s2 if wt2
  use-server s2 unless { path_beg / }
  server s1 127.0.0.1:${p1} check inter 100 fall 1 rise 1
  server s2 127.0.0.1:${p2} check inter 100 fall 1 rise 1
`;

const SEQUENCE = ["/?wtd=wt1A", "/?wtd=wt2B", "/", "/", "/?wtd=wt1A", "/", "/?wtd=wt2B", "/"];

async function answers(port: number, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    out.push(r.status === 200 ? await r.text() : String(r.status));
  }
  return out;
}

Deno.test({
  name:
    "use-server: the rule's server while it is up, else balanced; the same answers as HAProxy 2.6",
  ignore: !(await haproxyAvailable()),
  async fn() {
    const s1 = named("s1");
    let s1Open = true;
    const s2 = named("s2");
    const hport = closedPort();
    const hap = await startHaproxy(cfg(hport, s1.port, s2.port), hport);
    const { config } = await loadConfigText(cfg(0, s1.port, s2.port), "us.cfg");
    const rt = await testRuntime(config, { logging: false, admin: false });
    const port = rt.listeners[0].port;
    try {
      const theirs = await answers(hport, SEQUENCE);
      assertEquals(theirs, ["s1", "s2", "s1", "s2", "s1", "s1", "s2", "s2"]);
      assertEquals(await answers(port, SEQUENCE), theirs);

      // s1 stops: its rule is skipped, its session's requests are balanced (to s2 only).
      await s1.close();
      s1Open = false;
      const s1State = rt.state.server("wt", "s1")!;
      assertEquals(await waitFor(() => s1State.health === "DOWN", 3000), true);
      await new Promise((r) => setTimeout(r, 300)); // HAProxy's checks too (inter 100, fall 1)
      const down = ["/?wtd=wt1A", "/?wtd=wt1A", "/?wtd=wt2B"];
      assertEquals(await answers(hport, down), ["s2", "s2", "s2"]);
      assertEquals(await answers(port, down), ["s2", "s2", "s2"]);
    } finally {
      await rt.stop(1000);
      await hap.stop();
      if (s1Open) await s1.close();
      await s2.close();
    }
  },
});

Deno.test("use-server: a DRAIN server still takes its rule's requests (only DOWN and MAINT are skipped)", async () => {
  const s1 = named("s1");
  const s2 = named("s2");
  const { config } = await loadConfigText(cfg(0, s1.port, s2.port), "us.cfg");
  const rt = await testRuntime(config, { logging: false, admin: false, health: false });
  const port = rt.listeners[0].port;
  try {
    setAdminState(rt.state, "wt/s1", "DRAIN");
    assertEquals(await answers(port, ["/?wtd=wt1A", "/", "/"]), ["s1", "s2", "s2"]);
    setAdminState(rt.state, "wt/s1", "MAINT");
    assertEquals(await answers(port, ["/?wtd=wt1A"]), ["s2"]);
  } finally {
    await rt.stop(1000);
    await s1.close();
    await s2.close();
  }
});

async function errors(text: string, file: string): Promise<string[]> {
  try {
    await loadConfigText(text, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.diagnostics.filter((d) => d.severity === "error").map((d) =>
      `${d.line}:${d.col} ${d.message}`
    );
  }
  return [];
}

Deno.test("use-server: bad input names its place (.cfg in HAProxy's words, YAML)", async () => {
  const base = cfg(0, 1, 2);
  assertEquals(
    await errors(base.replace("use-server s1 if wt1", "use-server s3 if wt1"), "a.cfg"),
    ["13:14 backend 'wt' : unable to find server 's3' referenced in a 'use-server' rule (did you mean 's1'?)"],
  );
  assertEquals(
    await errors(base.replace("use-server s1 if wt1", "use-server s1"), "b.cfg"),
    ["13:3 'use-server' requires either 'if' or 'unless' followed by a condition."],
  );
  assertEquals(
    await errors(base.replace("use-server s1 if wt1", "use-server s1 if nope"), "c.cfg"),
    ["13:20 use-server s1 if: unknown ACL 'nope'"],
  );
  const yaml = (rule: string) =>
    `frontends:
  f:
    bind: ["127.0.0.1:0"]
    default_backend: b
backends:
  b:
    timeouts: { connect: 1s, server: 5s }
    servers: { s1: "127.0.0.1:1" }
    use-server:
      - ${rule}
`;
  assertEquals(await errors(yaml("{ server: s1 }"), "d.yaml"), [
    "10:9 backends.b.use-server[0]: 'use-server' requires either 'if' or 'unless' followed by a condition",
  ]);
  assertEquals(await errors(yaml("{ server: s1, if: TRUE, unless: FALSE }"), "e.yaml"), [
    '10:33 backends.b.use-server[0]: give either "if" or "unless", not both',
  ]);
  assertEquals(await errors(yaml('{ server: "%[req.hdr(x)]", if: "TRUE" }'), "f.yaml"), [
    "10:19 backends.b.use-server[0]: dynamic server names ('%[...]') are not supported by wtproxy",
  ]);
  assertEquals(await errors(yaml('{ if: "TRUE" }'), "g.yaml"), [
    '10:9 backends.b.use-server[0]: missing "server"',
  ]);
});

Deno.test("use-server in a listen: its ACLs serve both parts; --to-yaml keeps rules and ACLs", async () => {
  const listen = `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
listen app
  bind 127.0.0.1:0
  acl wt1 url_sub wtd=wt1
  use-server s1 if wt1
  http-request deny if { path_beg /x } wt1
  server s1 127.0.0.1:1
  server s2 127.0.0.1:2
`;
  const shape = (c: Config) => {
    const b = c.backends.find((x) => x.name === "app")!;
    const f = c.frontends.find((x) => x.name === "app")!;
    return {
      be: [
        b.acls?.map((a) => a.text),
        b.useServer?.map((u) => [u.server, u.polarity, u.condition]),
      ],
      fe: [f.acls.map((a) => a.text), f.httpRequest?.map((r) => r.text)],
    };
  };
  const { config } = await loadConfigText(listen, "l.cfg");
  assertEquals(shape(config), {
    be: [["url_sub wtd=wt1"], [["s1", "if", "wt1"]]],
    fe: [["url_sub wtd=wt1"], ["deny if { path_beg /x } wt1"]],
  });
  const yaml = toYaml(parseHaproxy(listen, "l.cfg").tree);
  assertEquals(shape((await loadConfigText(yaml, "l.yaml")).config), shape(config));
});
