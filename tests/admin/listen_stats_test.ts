// `listen stats` sections: the stats page on the section's own listener with HAProxy's `stats`
// lines (uri, auth + realm, refresh, admin if COND, hide-version), admin actions mapped onto the
// runtime API's server states, and the checks on the lines.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { startRuntime } from "../../src/runtime.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { closedPort } from "../helpers/raw_backend.ts";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";

const CFG = (admin: string) =>
  `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
  `listen stats\n  bind 127.0.0.1:0\n  stats enable\n  stats uri /stats\n` +
  `  stats realm Haproxy\\ Statistics\n  stats auth admin:secret\n  stats refresh 5s\n` +
  `  stats admin ${admin}\n  stats hide-version\n` +
  `frontend www\n  bind 127.0.0.1:0\n  default_backend app\n` +
  `backend app\n  server s1 127.0.0.1:1\n  server s2 127.0.0.1:2\n`;

const AUTH = `authorization: Basic ${btoa("admin:secret")}\r\n`;

async function start(admin: string) {
  const { config } = await loadConfigText(CFG(admin), "stats.cfg");
  const rt = await startRuntime(config, { logging: false, health: false, admin: false });
  const port = rt.listeners.find((l) => l.frontend === "stats")!.port;
  return { rt, port };
}

Deno.test("listen stats: auth with the realm, the page with refresh, admin actions set server states", async () => {
  const { rt, port } = await start("if LOCALHOST");
  try {
    const anon = await rawRequest(port, "GET /stats HTTP/1.1\r\nhost: a\r\n\r\n");
    assertEquals(anon.status, 401);
    assertEquals(
      anon.headers.find(([k]) => k === "www-authenticate")?.[1],
      'Basic realm="Haproxy Statistics"',
    );
    const wrong = await rawRequest(
      port,
      `GET /stats HTTP/1.1\r\nhost: a\r\nauthorization: Basic ${btoa("admin:nope")}\r\n\r\n`,
    );
    assertEquals(wrong.status, 401);
    const page = await rawRequest(port, `GET /stats HTTP/1.1\r\nhost: a\r\n${AUTH}\r\n`);
    assertEquals(page.status, 200);
    assertEquals(page.headers.find(([k]) => k === "refresh")?.[1], "5");
    for (const s of ["Statistics Report for pid", ">app<", "> s1<", "> s2<", 'name="action"']) {
      assert(page.text.includes(s), `page lacks ${s}`);
    }
    assert(!page.text.includes("wtproxy version"), "hide-version");
    // The admin form: s1 to MAINT, then s2 to DRAIN, then s1 back to READY.
    const post = (body: string) =>
      rawRequest(
        port,
        `POST /stats HTTP/1.1\r\nhost: a\r\n${AUTH}content-type: application/x-www-form-urlencoded\r\n` +
          `content-length: ${body.length}\r\n\r\n${body}`,
      );
    const r1 = await post("s=s1&action=maint&b=app");
    assertEquals([r1.status, r1.headers.find(([k]) => k === "location")?.[1]], [
      303,
      "/stats;st=DONE",
    ]);
    await post("s=s2&action=drain&b=app");
    const st = (k: string) => rt.state.servers.get(k)!.admin;
    assertEquals([st("app/s1"), st("app/s2")], ["MAINT", "DRAIN"]);
    await post("s=s1&action=ready&b=app");
    assertEquals(st("app/s1"), "READY");
    const done = await rawRequest(port, `GET /stats;st=DONE HTTP/1.1\r\nhost: a\r\n${AUTH}\r\n`);
    assert(done.text.includes("Action processed successfully."));
    const unknown = await post("s=nosuch&action=maint&b=app");
    assertEquals(unknown.headers.find(([k]) => k === "location")?.[1], "/stats;st=PART");
    // Anything else on the listen: no server there, 503 as in HAProxy.
    const other = await rawRequest(port, `GET /other HTTP/1.1\r\nhost: a\r\n\r\n`);
    assertEquals(other.status, 503);
  } finally {
    await rt.stop(1000);
  }
});

Deno.test("listen stats: admin actions refused when the condition is false; no forms shown", async () => {
  const { rt, port } = await start("unless LOCALHOST");
  try {
    const page = await rawRequest(port, `GET /stats HTTP/1.1\r\nhost: a\r\n${AUTH}\r\n`);
    assert(!page.text.includes('name="action"'));
    const body = "s=s1&action=maint&b=app";
    const r = await rawRequest(
      port,
      `POST /stats HTTP/1.1\r\nhost: a\r\n${AUTH}content-length: ${body.length}\r\n\r\n${body}`,
    );
    assertEquals(r.headers.find(([k]) => k === "location")?.[1], "/stats;st=DENY");
    assertEquals(rt.state.servers.get("app/s1")!.admin, "READY");
  } finally {
    await rt.stop(1000);
  }
});

Deno.test("stats lines: HAProxy's checks; stats in defaults reach every proxy; YAML form", async () => {
  const bad = `defaults\n  mode http\nlisten st\n  bind 127.0.0.1:0\n  stats\n  stats uri\n` +
    `  stats admin when TRUE\n  stats auth nopass\n  stats bogus\n  stats socket /x\n` +
    `  stats scope .\n  stats admin if nosuch_acl\n`;
  let msg = "";
  try {
    await loadConfigText(bad, "bad.cfg");
  } catch (err) {
    msg = (err as Error).message;
  }
  for (
    const w of [
      "bad.cfg:5:3: error: 'stats' expects 'admin', 'auth', 'enable'",
      "bad.cfg:6:9: error: 'stats uri' needs an URI prefix.",
      "bad.cfg:7:9: error: 'stats admin' requires either 'if' or 'unless' followed by a condition.",
      "bad.cfg:8:14: error: 'stats auth' : missing password for user 'nopass'.",
      "bad.cfg:9:9: error: 'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-node' or 'uri', got 'bogus'.",
      "bad.cfg:10:9: error: 'stats socket' is only allowed in 'global' section.",
      "bad.cfg:11:9: warning: 'stats scope' is not supported by wtproxy and is ignored",
      "bad.cfg:12:18: error: stats admin if: unknown ACL 'nosuch_acl'",
    ]
  ) assert(msg.includes(w), `missing:\n${w}\nin:\n${msg}`);
  const inDefaults = `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n` +
    `  timeout server 5s\n  stats enable\n  stats uri /_stats\n` +
    `frontend f\n  bind 127.0.0.1:0\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n`;
  const { config } = await loadConfigText(inDefaults, "d.cfg");
  assertEquals(config.frontends[0].stats?.uri, "/_stats");
  assertEquals(config.backends[0].stats?.uri, "/_stats");
  const yaml =
    `frontends:\n  f:\n    bind: ["127.0.0.1:0"]\n    stats: { uri: /s, auth: ["a:b"], ` +
    `refresh: 10s, admin: if TRUE }\n`;
  const { config: y } = await loadConfigText(yaml, "s.yaml");
  assertEquals(y.frontends[0].stats?.auth, [{ user: "a", password: "b" }]);
  assertEquals(y.frontends[0].stats?.refresh, 10_000);
  const on = await loadConfigText(
    `frontends:\n  f:\n    bind: ["127.0.0.1:0"]\n    stats: true\n`,
    "t.yaml",
  );
  assertEquals(on.config.frontends[0].stats?.uri, "/haproxy?stats");
});

Deno.test("stats show-node alone shows the host name; a stats-only frontend gets no 'no backend' warning", async () => {
  const text = `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n` +
    `  timeout server 5s\nfrontend stats\n  bind 127.0.0.1:0\n  stats enable\n  stats uri /\n` +
    `  stats show-node\n  stats show-desc Stats for the test\n`;
  const { config, warnings } = await loadConfigText(text, "n.cfg");
  assertEquals(warnings.map((w) => w.message), []);
  assertEquals([config.frontends[0].stats?.node, config.frontends[0].stats?.desc], [
    "",
    "Stats for the test",
  ]);
  const rt = await startRuntime(config, { logging: false, health: false, admin: false });
  try {
    const page = await rawRequest(rt.listeners[0].port, "GET / HTTP/1.1\r\nhost: a\r\n\r\n");
    assertEquals(page.status, 200);
    assert(page.text.includes("Stats for the test"));
  } finally {
    await rt.stop(1000);
  }
});

Deno.test("stats URI;csv: HAProxy 2.6's CSV header, a FRONTEND row, server rows and a BACKEND row", async () => {
  const { rt, port } = await start("if TRUE");
  try {
    const r = await rawRequest(port, `GET /stats;csv HTTP/1.1\r\nhost: a\r\n${AUTH}\r\n`);
    assertEquals(r.status, 200);
    const lines = r.text.trim().split("\n");
    // haproxy 2.6.12's header, copied from `stats uri;csv`
    assert(lines[0].startsWith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,"));
    assert(
      lines[0].endsWith(",h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,"),
    );
    const cols = lines[0].slice(2).split(",").length;
    for (const l of lines.slice(1)) assertEquals(l.split(",").length, cols, l);
    const names = lines.slice(1).map((l) => l.split(",").slice(0, 2).join("/"));
    for (const n of ["stats/FRONTEND", "www/FRONTEND", "app/s1", "app/s2", "app/BACKEND"]) {
      assert(names.includes(n), `${n} missing in ${names}`);
    }
    const s1 = lines.find((l) => l.startsWith("app,s1,"))!.split(",");
    const header = lines[0].slice(2).split(",");
    assertEquals(s1[header.indexOf("status")], "no check");
    assertEquals(s1[header.indexOf("type")], "2");
  } finally {
    await rt.stop(1000);
  }
});

Deno.test({
  name: "stats auth: the 401 is HAProxy's, byte for byte",
  ignore: !(await haproxyAvailable()),
  async fn() {
    const cfg = (port: number) =>
      `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
      `listen stats\n  bind 127.0.0.1:${port}\n  stats enable\n  stats uri /s\n` +
      `  stats auth a:b\n  stats realm My\\ Realm\n`;
    const hport = closedPort();
    const hap = await startHaproxy(cfg(hport), hport);
    let rt = null;
    try {
      const req = "GET /s HTTP/1.1\r\nhost: a\r\n\r\n";
      const theirs = (await rawRequest(hport, req)).head;
      const { config } = await loadConfigText(cfg(0), "a.cfg");
      rt = await startRuntime(config, { logging: false, health: false, admin: false });
      const ours = await rawRequest(rt.listeners[0].port, req);
      assertEquals(ours.head, theirs);
      assert(ours.text.includes("You need a valid user and password"));
    } finally {
      await rt?.stop(1000);
      await hap.stop();
    }
  },
});
