// Cookie persistence (`cookie NAME insert|rewrite|prefix ...`, server `cookie VALUE`): routing by
// the cookie, what the server is sent, what the client gets, the log's cookie flags; and the same
// requests through the real HAProxy 2.6 give the same Set-Cookie/Cache-Control and Cookie lines.
import { testRuntime } from "../helpers/threads.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import type { Config, CookieConfig } from "../../src/config/model.ts";
import type { RequestLog } from "../../src/log/record.ts";

import type { StateStore } from "../../src/state.ts";
import { b64tos30, s30tob64 } from "../../src/persist/cookie.ts";
import { closedPort, RawBackend, type RawHandler } from "../helpers/raw_backend.ts";
import { rawRequest, type RawResponse } from "../helpers/raw_client.ts";
import { simpleConfig } from "../helpers/proxy.ts";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";

const COOKIE: CookieConfig = {
  name: "SERVERID",
  mode: "insert",
  indirect: false,
  nocache: false,
  postonly: false,
  preserve: false,
  httponly: false,
  secure: false,
  domains: [],
  attrs: [],
  maxidle: null,
  maxlife: null,
  loc: { file: "test.cfg", line: 1, col: 1 },
};

/** Answers "NAME TARGET", with the request's Cookie line echoed and `extra` response lines. */
function server(name: string, extra = ""): RawHandler {
  return async (req, c) => {
    const body = `${name} ${req.head.split(" ")[1]}`;
    await c.write(
      `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`,
    );
  };
}

interface Rig {
  port: number;
  state: StateStore;
  logs: RequestLog[];
  config: Config;
  stop(): Promise<void>;
}

async function startWithCookie(
  cookie: Partial<CookieConfig>,
  backends: Record<string, { address: string; cookie: string | null }>,
  backendYaml = "",
): Promise<Rig> {
  const servers = Object.fromEntries(Object.entries(backends).map(([k, v]) => [k, v.address]));
  const { config: loaded } = await loadConfigText(
    simpleConfig(servers, { backend: `    balance: roundrobin\n${backendYaml}` }),
    "test.yaml",
  );
  const config: Config = {
    ...loaded,
    backends: loaded.backends.map((b) => ({
      ...b,
      cookie: { ...COOKIE, ...cookie },
      servers: b.servers.map((s) => ({ ...s, cookie: backends[s.name].cookie })),
    })),
  };
  const logs: RequestLog[] = [];
  const runtime = await testRuntime(config, {
    logging: false,
    health: false,
    admin: false,
    logger: { request: (_fe, rec) => logs.push({ ...rec }) },
  });
  return {
    port: runtime.listeners[0].port,
    state: runtime.state,
    logs,
    config,
    stop: () => runtime.stop(1000),
  };
}

const get = (target: string, cookie?: string, method = "GET") =>
  `${method} ${target} HTTP/1.1\r\nhost: a\r\n${cookie ? `cookie: ${cookie}\r\n` : ""}` +
  `${method === "POST" ? "content-length: 0\r\n" : ""}\r\n`;

const header = (r: RawResponse, name: string) =>
  r.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);

Deno.test("cookie insert indirect nocache: inserted once, then followed; the server never sees it", async () => {
  const s1 = new RawBackend(server("s1", "cache-control: max-age=60\r\n"));
  const s2 = new RawBackend(server("s2"));
  const px = await startWithCookie({ indirect: true, nocache: true }, {
    s1: { address: s1.address, cookie: "c1" },
    s2: { address: s2.address, cookie: "c2" },
  });
  try {
    const r1 = await rawRequest(px.port, get("/one"));
    assertEquals(r1.text, "s1 /one");
    assertEquals(header(r1, "set-cookie"), ["SERVERID=c1; path=/"]);
    assertEquals(header(r1, "cache-control"), ["max-age=60", "private"]);
    // The cookie names s2: every request goes there, nothing is inserted again.
    for (let i = 0; i < 3; i++) {
      const r = await rawRequest(px.port, get(`/p${i}`, "a=1; SERVERID=c2; b=2"));
      assertEquals(r.text, `s2 /p${i}`);
      assertEquals(header(r, "set-cookie"), []);
      assertEquals(header(r, "cache-control"), []);
    }
    const seen = s2.received.map((r) => r.head.match(/^cookie: (.*)\r$/m)?.[1]);
    assertEquals(seen, ["a=1; b=2", "a=1; b=2", "a=1; b=2"]);
    // Unknown value: balanced and a fresh cookie inserted.
    const r5 = await rawRequest(px.port, get("/x", "SERVERID=nope"));
    assert(header(r5, "set-cookie")[0].startsWith("SERVERID=c"));
    const logs = px.logs.map((l) => l.termination);
    assertEquals(logs, ["--NI", "--VN", "--VN", "--VN", "--II"]);
  } finally {
    await px.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("cookie: a server in MAINT or DOWN loses its cookie traffic (D), a DRAIN server keeps it", async () => {
  const s1 = new RawBackend(server("s1"));
  const s2 = new RawBackend(server("s2"));
  const px = await startWithCookie({}, {
    s1: { address: s1.address, cookie: "c1" },
    s2: { address: s2.address, cookie: "c2" },
  });
  const st = px.state.servers.get("b/s2")!;
  try {
    st.admin = "DRAIN";
    const drain = await rawRequest(px.port, get("/", "SERVERID=c2"));
    assertEquals(drain.text, "s2 /");
    assertEquals(header(drain, "set-cookie"), []); // the valid cookie is kept
    st.admin = "MAINT";
    const maint = await rawRequest(px.port, get("/", "SERVERID=c2"));
    assertEquals(maint.text, "s1 /");
    assertEquals(header(maint, "set-cookie"), ["SERVERID=c1; path=/"]);
    st.admin = "READY";
    st.health = "DOWN";
    const down = await rawRequest(px.port, get("/", "SERVERID=c2"));
    assertEquals(down.text, "s1 /");
    assertEquals(px.logs.map((l) => l.termination), ["--VN", "--DI", "--DI"]);
  } finally {
    await px.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("cookie maxidle/maxlife: dates in the cookie, refreshed when due, expired ones refused (E, O)", async () => {
  const s1 = new RawBackend(server("s1"));
  const px = await startWithCookie({ maxidle: 30_000, maxlife: 3_600_000 }, {
    s1: { address: s1.address, cookie: "c1" },
  });
  try {
    const r = await rawRequest(px.port, get("/"));
    const m = header(r, "set-cookie")[0].match(/^SERVERID=c1\|(.{5})\|(.{5}); path=\/$/);
    assert(m, header(r, "set-cookie")[0]);
    const now = Date.now() / 1000;
    assert(Math.abs(b64tos30(m[1]) * 4 - now) <= 8 && m[1] === m[2]);
    const stamp = (sec: number) => s30tob64(Math.floor(sec / 4));
    // Fresh dates: followed; the last-seen date is refreshed once it is in the past (U).
    const fresh = await rawRequest(px.port, get("/", `SERVERID=c1|${m[1]}|${m[2]}`));
    assertEquals(header(fresh, "set-cookie"), []);
    const past = await rawRequest(px.port, get("/", `SERVERID=c1|${stamp(now - 10)}|${m[2]}`));
    assert(header(past, "set-cookie")[0].startsWith("SERVERID=c1|"));
    // Idle too long: expired (E); first seen too long ago: old (O). Both get a new cookie.
    await rawRequest(px.port, get("/", `SERVERID=c1|${stamp(now - 100)}|${m[2]}`));
    await rawRequest(px.port, get("/", `SERVERID=c1|${m[1]}|${stamp(now - 7200)}`));
    assertEquals(px.logs.map((l) => l.termination.slice(2)), ["NI", "VN", "VU", "EI", "OI"]);
  } finally {
    await px.stop();
    await s1.close();
  }
});

Deno.test("s30tob64 / b64tos30 round trip (HAProxy's cookie date encoding)", () => {
  for (const v of [0, 1, 63, 64, 446_000_000, (1 << 30) - 1]) {
    assertEquals(b64tos30(s30tob64(v)), v);
  }
  assertEquals(s30tob64(0), "AAAAA");
  assertEquals(b64tos30("AA!AA"), -1);
});

// ---- side by side with HAProxy 2.6 ------------------------------------------------------

interface Exchange {
  request: string;
  /** Which server answered, the Cookie line it got, the Set-Cookie/Cache-Control lines. */
  server: string;
  cookieSeen: string | null;
  setCookie: string[];
  cacheControl: string[];
}

async function exchanges(
  port: number,
  backends: RawBackend[],
  requests: string[],
): Promise<Exchange[]> {
  const out: Exchange[] = [];
  for (const request of requests) {
    const counts = backends.map((b) => b.received.length);
    const r = await rawRequest(port, request);
    const hit = backends.findIndex((b, i) => b.received.length > counts[i]);
    const head = hit >= 0 ? backends[hit].received.at(-1)!.head : "";
    out.push({
      request: request.split("\r\n").filter((l) => /^(GET|POST|cookie)/.test(l)).join(" | "),
      server: r.text.split(" ")[0],
      cookieSeen: head.match(/^cookie: (.*)\r$/im)?.[1] ?? null,
      setCookie: header(r, "set-cookie"),
      cacheControl: header(r, "cache-control"),
    });
  }
  return out;
}

const SIDE_BY_SIDE: {
  name: string;
  cfg: string;
  cookie: Partial<CookieConfig>;
  extra: string;
  requests: string[];
}[] = [
  {
    name: "insert indirect nocache httponly secure domain",
    cfg: "cookie SERVERID insert indirect nocache httponly secure domain .example.com",
    cookie: {
      indirect: true,
      nocache: true,
      httponly: true,
      secure: true,
      domains: [".example.com"],
    },
    extra: 'etag: "v1"\r\n',
    requests: [
      get("/a"),
      get("/b", "x=1; SERVERID=c2; y=2"),
      get("/c", "SERVERID=c1"),
      get("/d", "SERVERID=zz; x=1"),
      get("/e", undefined, "POST"),
    ],
  },
  {
    name: "nocache: Cache-Control private only on cacheable answers",
    cfg: "cookie SERVERID insert nocache",
    cookie: { nocache: true },
    extra: "cache-control: max-age=60\r\n",
    requests: [get("/a"), get("/b"), get("/c", undefined, "POST")],
  },
  {
    name: "insert: the server's own cookie of that name is replaced by ours",
    cfg: "cookie SERVERID insert",
    cookie: {},
    extra: "set-cookie: SERVERID=fromapp; path=/app\r\nset-cookie: other=1\r\n",
    requests: [get("/a"), get("/b", "SERVERID=c1")],
  },
  {
    name: "no mode (passive): the cookie routes, answers pass untouched",
    cfg: "cookie SERVERID",
    cookie: { mode: "passive" },
    extra: "set-cookie: SERVERID=c2; path=/\r\n",
    requests: [get("/a"), get("/b", "SERVERID=c2"), get("/c", "SERVERID=zz")],
  },
  {
    name: "indirect (passive): a direct request's server cookie is removed",
    cfg: "cookie SERVERID indirect",
    cookie: { mode: "passive", indirect: true },
    extra: "set-cookie: SERVERID=x; path=/\r\n",
    requests: [get("/a"), get("/b", "SERVERID=c1"), get("/c", "SERVERID=c2")],
  },
  {
    name: "postonly: inserted on POST answers only",
    cfg: "cookie SERVERID insert postonly",
    cookie: { postonly: true },
    extra: "",
    requests: [get("/a"), get("/b", undefined, "POST")],
  },
  {
    name: "rewrite: the server's cookie gets the server's value",
    cfg: "cookie JSESSIONID rewrite",
    cookie: { name: "JSESSIONID", mode: "rewrite" },
    extra: "set-cookie: JSESSIONID=abc123; path=/; HttpOnly\r\n",
    requests: [get("/a"), get("/b", "JSESSIONID=c2")],
  },
  {
    name: "prefix: VALUE~ added to the server's cookie, taken off on the way in",
    cfg: "cookie JSESSIONID prefix nocache",
    cookie: { name: "JSESSIONID", mode: "prefix", nocache: true },
    extra: "set-cookie: JSESSIONID=abc123; path=/\r\n",
    requests: [get("/a"), get("/b", "JSESSIONID=c2~abc123; z=9")],
  },
];

for (const c of SIDE_BY_SIDE) {
  Deno.test({
    name: `cookie side by side with HAProxy: ${c.name}`,
    ignore: !(await haproxyAvailable()),
    async fn() {
      const s1 = new RawBackend(server("s1", c.extra));
      const s2 = new RawBackend(server("s2", c.extra));
      const hport = closedPort();
      const hap = await startHaproxy(
        `global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 1s\n` +
          `  timeout client 5s\n  timeout server 5s\nfrontend f\n  bind 127.0.0.1:${hport}\n` +
          `  default_backend b\nbackend b\n  balance roundrobin\n  ${c.cfg}\n` +
          `  server s1 ${s1.address} cookie c1\n  server s2 ${s2.address} cookie c2\n`,
        hport,
      );
      let px: Rig | null = null;
      try {
        const theirs = await exchanges(hport, [s1, s2], c.requests);
        px = await startWithCookie(c.cookie, {
          s1: { address: s1.address, cookie: "c1" },
          s2: { address: s2.address, cookie: "c2" },
        });
        const ours = await exchanges(px.port, [s1, s2], c.requests);
        assertEquals(ours, theirs);
      } finally {
        await px?.stop();
        await hap.stop();
        await s1.close();
        await s2.close();
      }
    },
  });
}

/** Answers a WebSocket upgrade with a valid 101 (then holds the connection), else like server(). */
function wsServer(name: string): RawHandler {
  return async (req, c) => {
    const key = req.head.match(/^sec-websocket-key: (.*)\r$/im)?.[1];
    if (!key) return await server(name)(req, c);
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
    );
    const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
    await c.write(
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
        `sec-websocket-accept: ${accept}\r\n\r\n`,
    );
    return "close";
  };
}

/** A socket.io deployment's haproxy.cfg (cookie persistence), servers on the given ports. */
function socketIoCfg(p1: number, p2: number): string {
  return `global
  maxconn 4096

defaults
  mode http
  option http-server-close
  option forwardfor
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout tunnel 1h

frontend http-in
  bind 127.0.0.1:0
  default_backend nodes

backend nodes
  balance roundrobin
  option httpchk GET /health
  cookie SERVERID insert indirect nocache
  server s1 127.0.0.1:${p1} check cookie s1
  server s2 127.0.0.1:${p2} check cookie s2
`;
}

Deno.test("socket.io .cfg with cookie persistence runs unchanged: polls and the WebSocket upgrade stay on the cookie's server", async () => {
  const s1 = new RawBackend(wsServer("s1"));
  const s2 = new RawBackend(wsServer("s2"));
  const { config } = await loadConfigText(socketIoCfg(s1.port, s2.port), "socketio.cfg");
  const runtime = await testRuntime(config, { logging: false, health: false, admin: false });
  const port = runtime.listeners[0].port;
  try {
    // Two clients: the first polling request of each is balanced (s1, then s2).
    const a = await rawRequest(port, get("/socket.io/?EIO=4&transport=polling"));
    const b = await rawRequest(port, get("/socket.io/?EIO=4&transport=polling"));
    const cookieOf = (r: RawResponse) => header(r, "set-cookie")[0].split(";")[0];
    assertEquals([a.text.split(" ")[0], cookieOf(a)], ["s1", "SERVERID=s1"]);
    assertEquals([b.text.split(" ")[0], cookieOf(b)], ["s2", "SERVERID=s2"]);
    // Each client's next polls and its upgrade land on its own server.
    for (let i = 0; i < 3; i++) {
      const r = await rawRequest(port, get("/socket.io/?EIO=4&transport=polling", cookieOf(b)));
      assertEquals(r.text.split(" ")[0], "s2");
      assertEquals(header(r, "set-cookie"), []);
    }
    const upgrade = (cookie: string) =>
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\n" +
      "connection: Upgrade\r\nsec-websocket-version: 13\r\n" +
      `sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\ncookie: ${cookie}\r\n\r\n`;
    const before = [s1.received.length, s2.received.length];
    const wsB = await rawRequest(port, upgrade(cookieOf(b)));
    assertEquals(wsB.status, 101);
    const wsA = await rawRequest(port, upgrade(cookieOf(a)));
    assertEquals(wsA.status, 101);
    assertEquals([s1.received.length - before[0], s2.received.length - before[1]], [1, 1]);
    assert(s2.received.at(-1)!.head.includes("transport=websocket"));
    assert(s1.received.at(-1)!.head.includes("transport=websocket"));
    // indirect: the upgrade reaches the server without the persistence cookie
    assert(!/^cookie:/im.test(s2.received.at(-1)!.head), s2.received.at(-1)!.head);
  } finally {
    await runtime.stop(1000);
    await s1.close();
    await s2.close();
  }
});

Deno.test("cookie lines: HAProxy's checks and messages (.cfg), and the YAML form", async () => {
  const bad = `defaults\n  mode http\nbackend b\n  cookie S insert foo\n  cookie\n` +
    `  cookie S insert rewrite\n  cookie S preserve\n  cookie S insert maxidle\n` +
    `  cookie S rewrite indirect\n` +
    `  server s1 127.0.0.1:1 cookie a\n`;
  let msg = "";
  try {
    await loadConfigText(bad, "bad.cfg");
  } catch (err) {
    msg = (err as Error).message;
  }
  for (
    const want of [
      "bad.cfg:4:19: error: 'cookie' supports 'rewrite', 'insert', 'prefix'",
      "bad.cfg:5:3: error: 'cookie' expects <cookie_name> as argument.",
      "bad.cfg:6:3: error: cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.",
      "bad.cfg:7:3: error: cookie 'preserve' requires at least 'insert' or 'indirect'.",
      "bad.cfg:8:19: error: 'maxidle' expects <idletime> in seconds as argument.",
      "bad.cfg:9:3: error: cookie 'rewrite' and 'indirect' modes are incompatible.",
    ]
  ) assert(msg.includes(want), `missing "${want}" in:\n${msg}`);
  const yaml = `frontends:\n  f: { bind: ["127.0.0.1:0"], default_backend: b }\nbackends:\n  b:\n` +
    `    cookie: SRV insert indirect maxidle 30m domain .example.com\n` +
    `    servers:\n      s1: { address: 127.0.0.1:1, cookie: a }\n`;
  const { config } = await loadConfigText(yaml, "c.yaml");
  const ck = config.backends[0].cookie!;
  assertEquals([ck.name, ck.mode, ck.indirect, ck.maxidle, ck.domains], [
    "SRV",
    "insert",
    true,
    1_800_000,
    [".example.com"],
  ]);
  assertEquals(config.backends[0].servers[0].cookie, "a");
  const badYaml = yaml.replace("cookie: a", "cookie: 'a;b'").replace("indirect", "indirekt");
  await loadConfigText(badYaml, "c.yaml").then(() => assert(false), (err) => {
    assert(
      /c\.yaml:5:\d+: error: backends\.b\.cookie: 'cookie' supports/.test(err.message),
      err.message,
    );
    assert(
      err.message.includes("backends.b.servers.s1.cookie: 'a;b' cannot be a cookie value"),
      err.message,
    );
  });
});

Deno.test({
  name: "dynamic cookies (cookie ... dynamic + dynamic-cookie-key): HAProxy's values, routed back",
  ignore: !(await haproxyAvailable()),
  async fn() {
    const s1 = new RawBackend(server("s1"));
    const s2 = new RawBackend(server("s2"));
    const cfg = (port: number) =>
      `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
      `frontend f\n  bind 127.0.0.1:${port}\n  default_backend b\n` +
      `backend b\n  balance roundrobin\n  cookie SRV insert indirect nocache dynamic\n` +
      `  dynamic-cookie-key "my secret"\n` +
      `  server s1 ${s1.address}\n  server s2 ${s2.address}\n`;
    const hport = closedPort();
    const hap = await startHaproxy(cfg(hport), hport);
    let rt = null;
    try {
      const theirs = [await rawRequest(hport, get("/")), await rawRequest(hport, get("/"))]
        .map((r) => header(r, "set-cookie")[0]);
      const { config } = await loadConfigText(cfg(0), "dyn.cfg");
      rt = await testRuntime(config, { logging: false, health: false, admin: false });
      const port = rt.listeners[0].port;
      const ours = [await rawRequest(port, get("/")), await rawRequest(port, get("/"))]
        .map((r) => header(r, "set-cookie")[0]);
      assertEquals(ours, theirs);
      assert(/^SRV=[0-9a-f]{16}; path=\/$/.test(ours[0]), ours[0]);
      // The second server's value brings a request back to it.
      const back = await rawRequest(port, get("/x", ours[1].split(";")[0]));
      assertEquals(back.text, "s2 /x");
    } finally {
      await rt?.stop(1000);
      await hap.stop();
      await s1.close();
      await s2.close();
    }
  },
});
