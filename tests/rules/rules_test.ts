// http-request / http-response rules through the proxy, against HAProxy 2.6's documented (and
// observed) answers: redirects (location, prefix, scheme; code, drop-query, append-slash),
// header edits, deny pages, return, order and first final action, frontend then backend.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { RawClient, rawRequest, type RawResponse } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy, type TestProxy } from "../helpers/proxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { openClient, rawClient, startEchoBackend, wsHead } from "../ws/harness.ts";
import { ConfigError } from "../../src/config/model.ts";

function hdr(res: RawResponse, name: string): string | undefined {
  return res.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

function rules(list: string[]): string {
  return list.map((r) => `      - ${JSON.stringify(r)}`).join("\n");
}

async function withProxy(
  fe: string[],
  fn: (px: TestProxy, be: RawBackend) => Promise<void>,
  extra: { be?: string[]; feRes?: string[]; beRes?: string[]; acls?: string } = {},
): Promise<void> {
  const be = new RawBackend(echoHead);
  let frontend = `    http-request:\n${rules(fe)}\n`;
  if (extra.feRes) frontend += `    http-response:\n${rules(extra.feRes)}\n`;
  if (extra.acls) frontend += extra.acls;
  let backend = "";
  if (extra.be) backend += `    http-request:\n${rules(extra.be)}\n`;
  if (extra.beRes) backend += `    http-response:\n${rules(extra.beRes)}\n`;
  const px = await startTestProxy(simpleConfig({ s1: be.address }, { frontend, backend }));
  try {
    await fn(px, be);
  } finally {
    await px.stop();
    await be.close();
  }
}

const get = (port: number, target: string, host = "h.example:8080") =>
  rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nx-a: 1\r\nx-a: 2\r\n\r\n`);

Deno.test("redirect scheme: Host kept with its port, URI with its query; 301 without cache-control", async () => {
  await withProxy(["redirect scheme https code 301"], async (px, be) => {
    const res = await get(px.port, "/s?x=1");
    assertEquals(res.status, 301);
    assertEquals(res.statusLine, "HTTP/1.1 301 Moved Permanently");
    assertEquals(hdr(res, "location"), "https://h.example:8080/s?x=1");
    assertEquals(hdr(res, "cache-control"), undefined);
    assertEquals(hdr(res, "content-length"), "0");
    assertEquals(be.received.length, 0);
    const logs = await px.waitLogs(1);
    assertEquals(logs[0].status, 301);
    assertEquals(logs[0].termination, "LR--");
  });
});

Deno.test("redirect codes: 302/303/307 carry cache-control: no-cache, 308 does not; no Host gives an empty authority", async () => {
  await withProxy([
    "redirect scheme https if { path_beg /s2 }",
    "redirect scheme https code 303 if { path_beg /s3 }",
    "redirect scheme https code 307 if { path_beg /s7 }",
    "redirect scheme https code 308 if { path_beg /s8 }",
  ], async (px) => {
    for (
      const [p, code, cache] of [["/s2", 302, true], ["/s3", 303, true], ["/s7", 307, true], [
        "/s8",
        308,
        false,
      ]] as const
    ) {
      const res = await get(px.port, p);
      assertEquals(res.status, code);
      assertEquals(hdr(res, "cache-control"), cache ? "no-cache" : undefined);
    }
    const res = await rawRequest(px.port, "GET /s2?q HTTP/1.0\r\n\r\n");
    assertEquals(hdr(res, "location"), "https:///s2?q");
  });
});

Deno.test("redirect prefix and location: HAProxy's query and slash rules", async () => {
  await withProxy([
    "redirect prefix https://new.example if { path_beg /p }",
    "redirect prefix / drop-query if { path_beg /q }",
    "redirect prefix https://x.example/ append-slash drop-query if { path_beg /a }",
    "redirect location https://loc.example/z drop-query append-slash if { path_beg /l }",
    "redirect location /rel?%[req.hdr(x-a)] if { path_beg /r }",
  ], async (px) => {
    const cases: [string, string][] = [
      ["/p/a?b=1", "https://new.example/p/a?b=1"],
      ["/q/x?y=2", "/q/x"],
      ["/a/b?c", "https://x.example//a/b/"],
      ["/a/b/?c", "https://x.example//a/b/"],
      ["/l?x", "https://loc.example/z"],
      ["/r", "/rel?2"], // a sample of a repeated header: its last value
    ];
    for (const [target, location] of cases) {
      const res = await get(px.port, target);
      assertEquals(res.status, 302, target);
      assertEquals(hdr(res, "location"), location, target);
    }
  });
});

Deno.test("deny: 403 page by default, deny_status picks HAProxy's page; 400 closes the connection", async () => {
  await withProxy([
    "deny deny_status 429 if { path_beg /e }",
    "deny deny_status 400 if { path_beg /bad }",
    "deny if { path_beg /d }",
  ], async (px) => {
    const c = await RawClient.connect(px.port);
    try {
      await c.send("GET /d HTTP/1.1\r\nHost: a\r\n\r\n");
      let res = await c.response();
      assertEquals(res.statusLine, "HTTP/1.1 403 Forbidden");
      assertEquals(
        res.text,
        "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
      );
      assertEquals(hdr(res, "cache-control"), "no-cache");
      assertEquals(hdr(res, "content-type"), "text/html");
      // the connection stays open
      await c.send("GET /e HTTP/1.1\r\nHost: a\r\n\r\n");
      res = await c.response();
      assertEquals(res.statusLine, "HTTP/1.1 429 Too Many Requests");
      await c.send("GET /bad HTTP/1.1\r\nHost: a\r\n\r\n");
      res = await c.response();
      assertEquals(res.status, 400);
      assertEquals(hdr(res, "connection"), "close");
    } finally {
      c.close();
    }
    const logs = await px.waitLogs(3);
    assertEquals(logs.map((l) => [l.status, l.termination]), [[403, "PR--"], [429, "PR--"], [
      400,
      "PR--",
    ]]);
  });
});

Deno.test("return: status, content-type, literal string, lf-string with samples, 204 without length", async () => {
  await withProxy([
    `return status 503 content-type "text/plain" string "hello %[src]" if { path_beg /u }`,
    `return content-type text/plain lf-string "from %[src] %[req.hdr(x-a)] %[ssl_fc,iif(https,http)]" hdr x-by wtproxy if { path_beg /lf }`,
    "return status 204 if { path_beg /n }",
    "return if { path_beg /z }",
  ], async (px) => {
    let res = await get(px.port, "/u");
    assertEquals(res.statusLine, "HTTP/1.1 503 Service Unavailable");
    assertEquals(res.text, "hello %[src]");
    assertEquals(hdr(res, "content-type"), "text/plain");
    res = await get(px.port, "/lf");
    assertEquals(res.status, 200);
    assertEquals(res.text, "from 127.0.0.1 2 http");
    assertEquals(hdr(res, "x-by"), "wtproxy");
    res = await get(px.port, "/n");
    assertEquals(res.status, 204);
    assertEquals(hdr(res, "content-length"), undefined);
    res = await get(px.port, "/z");
    assertEquals(res.status, 200);
    assertEquals(hdr(res, "content-length"), "0");
  });
});

Deno.test("use-service prometheus-exporter: the proxy's Prometheus text through the frontend, without a server", async () => {
  await withProxy(["use-service prometheus-exporter if { path /metrics }"], async (px, be) => {
    const other = await get(px.port, "/app");
    assertEquals(other.status, 200);
    assertEquals(be.received.length, 1);
    const res = await get(px.port, "/metrics");
    assertEquals(res.statusLine, "HTTP/1.1 200 OK");
    assertEquals(hdr(res, "content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert(res.text.includes('haproxy_process_build_info{version="'), res.text.slice(0, 300));
    // the frontend's counter has seen the first request at least
    const m = /^haproxy_frontend_http_requests_total\{proxy="f"\} (\d+)$/m.exec(res.text);
    assert(m && Number(m[1]) >= 1, res.text);
    assertEquals(be.received.length, 1);
  });
  assertEquals(
    await problems(simpleConfig({ s1: "127.0.0.1:1" }, {
      frontend: `    http-request:\n      - use-service lua.hello\n`,
    })),
    ["11:21 http-request use-service: 'use-service lua.hello' is not supported (only prometheus-exporter)"],
  );
});

Deno.test("set/add/del-header on the request, in order; a later condition sees an earlier edit", async () => {
  await withProxy([
    "del-header x-a",
    "add-header X-Added one",
    "add-header X-Added two",
    `set-header X-Src "%[src]:%[dst]"`,
    "set-header X-Proto %[ssl_fc,iif(https,http)]",
    "set-header X-Seen yes if { req.hdr(x-added) -m found }",
    "set-header X-Host %[req.hdr(host),lower]",
  ], async (px, be) => {
    const res = await get(px.port, "/x", "H.Example");
    assertEquals(res.status, 200);
    const lines = be.received[0].head.split("\r\n").filter((l) => l).slice(1);
    assertEquals(lines, [
      "host: H.Example",
      "x-added: one",
      "x-added: two",
      "x-src: 127.0.0.1:127.0.0.1",
      "x-proto: http",
      "x-seen: yes",
      "x-host: h.example",
    ]);
  });
});

Deno.test("the first final rule ends the list; frontend rules run before use_backend, the backend's after", async () => {
  await withProxy([
    "set-header X-Fe 1",
    "deny if { path_beg /first }",
    "redirect location /never if { path_beg /first }",
  ], async (px, be) => {
    let res = await get(px.port, "/first");
    assertEquals(res.status, 403);
    res = await get(px.port, "/ok");
    assertEquals(res.status, 200);
    const head = be.received[0].head;
    assert(head.includes("x-fe: 1\r\nx-be: 2\r\n"), head);
    res = await get(px.port, "/be-deny");
    assertEquals(res.status, 401);
  }, {
    be: ["set-header X-Be 2", "deny deny_status 401 if { req.hdr(x-fe) 1 } { path_beg /be-deny }"],
  });
});

Deno.test("http-response: the backend's rules then the frontend's edit the answer; deny gives a 502", async () => {
  await withProxy(["set-header X-Req 1"], async (px) => {
    let res = await get(px.port, "/x");
    assertEquals(res.status, 200);
    assertEquals(hdr(res, "strict-transport-security"), "max-age=63072000");
    assertEquals(hdr(res, "content-type"), undefined);
    assertEquals(hdr(res, "x-order"), "fe");
    res = await get(px.port, "/deny-me");
    assertEquals(res.statusLine, "HTTP/1.1 502 Bad Gateway");
    const logs = await px.waitLogs(2);
    assertEquals(logs[1].termination, "PH--");
  }, {
    feRes: [`set-header Strict-Transport-Security "max-age=63072000"`, "set-header X-Order fe"],
    beRes: ["del-header content-type", "set-header X-Order be", "deny if { path_beg /deny-me }"],
  });
});

Deno.test("a WebSocket upgrade goes through the frontend's http-request rules", async () => {
  await withProxy(["redirect scheme https unless { ssl_fc }"], async (px, be) => {
    const res = await rawRequest(
      px.port,
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assertEquals(res.status, 302);
    assertEquals(hdr(res, "location"), "https://a/ws");
    assertEquals(be.received.length, 0);
  });
});

const UPGRADE = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

// A backend's deny must hold for a request that carries Upgrade headers too: the server (here
// one that ignores them and answers 200) must never see it.
Deno.test("a WebSocket upgrade goes through the backend's http-request rules", async () => {
  await withProxy(["set-header X-Fe 1"], async (px, be) => {
    const denied = await rawRequest(
      px.port,
      `GET /admin/users HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`,
    );
    assertEquals(denied.status, 403);
    assertEquals(be.received.length, 0);
    const passed = await rawRequest(px.port, `GET /ws HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`);
    // echoHead answers 200 (no 101): the refusal goes back as it is, with the rule's header.
    assertEquals(passed.status, 200);
    assertEquals(be.received.length, 1);
    assert(be.received[0].head.includes("\r\nx-forwarded-proto: http\r\n"), be.received[0].head);
    const logs = await px.waitLogs(2);
    assertEquals([logs[0].status, logs[0].termination, logs[0].backend], [403, "PR--", "b"]);
    assertEquals([logs[1].status, logs[1].backend], [200, "b"]);
  }, { be: ["deny if { path_beg /admin }", "set-header X-Forwarded-Proto http"] });
});

Deno.test("a refused WebSocket upgrade goes through the http-response rules", async () => {
  await withProxy(["set-header X-Fe 1"], async (px, be) => {
    const edited = await rawRequest(px.port, `GET /ws HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`);
    assertEquals(edited.status, 200);
    assertEquals(hdr(edited, "x-order"), "fe");
    assertEquals(hdr(edited, "content-type"), undefined);
    const denied = await rawRequest(
      px.port,
      `GET /deny-me HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`,
    );
    assertEquals(denied.status, 502);
    assertEquals(be.received.length, 2);
    const logs = await px.waitLogs(2);
    assertEquals([logs[1].status, logs[1].termination], [502, "PH--"]);
  }, {
    feRes: ["set-header X-Order fe"],
    beRes: ["del-header content-type", "set-header X-Order be", "deny if { path_beg /deny-me }"],
  });
});

Deno.test("rules on an accepted upgrade: the 101 carries the response rules' edits, the tunnel works", async () => {
  const backend = startEchoBackend();
  const px = await startTestProxy(simpleConfig({ s1: `127.0.0.1:${backend.port}` }, {
    frontend: `    http-response:\n${rules(["set-header X-Fe-Res 1"])}\n`,
    backend: `    http-request:\n${rules(["set-header X-Be-Req 1"])}\n` +
      `    http-response:\n${rules(["del-header set-cookie"])}\n`,
  }));
  try {
    const raw = await rawClient(px.port, wsHead(px.port, "/ws"));
    raw.conn.close();
    assertEquals(raw.status, 101);
    assert(raw.head.toLowerCase().split("\r\n").includes("x-fe-res: 1"), raw.head);
    assert(!raw.head.toLowerCase().includes("set-cookie"), raw.head);
    assertEquals(backend.handshakes[0].get("x-be-req"), "1");
    const c = await openClient(px.port, "/ws");
    c.ws.send("through the tunnel");
    assertEquals(await c.next(), "through the tunnel");
    c.ws.close(1000);
    await c.closed;
  } finally {
    await px.stop();
    await backend.close();
  }
});

async function problems(yaml: string): Promise<string[]> {
  try {
    await loadConfigText(yaml, "t.yaml");
  } catch (err) {
    if (err instanceof ConfigError) {
      return err.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
    }
    throw err;
  }
  return [];
}

Deno.test("bad rules: errors at LINE:COL naming the word at fault", async () => {
  const yaml = (r: string) =>
    simpleConfig({ s1: "127.0.0.1:1" }, { frontend: `    http-request:\n      - ${r}\n` });
  // The rule text starts at column 9 of line 11.
  assertEquals(await problems(yaml("tarpit")), [
    "11:9 http-request tarpit: 'http-request tarpit' is not supported (supported: redirect, set-header, add-header, del-header, deny, return, use-service)",
  ]);
  assertEquals(await problems(yaml("set-header X %[nope]")), [
    "11:24 http-request set-header: '%[nope]': unknown fetch 'nope'",
  ]);
  assertEquals(await problems(yaml("set-header X %[src,base64]")), [
    "11:28 http-request set-header: '%[src,base64]': converter 'base64' is not supported by wtproxy (supported: lower, upper, iif, map, map_str, map_beg, map_sub, map_end, map_dom, map_reg, map_int, map_ip)",
  ]);
  assertEquals(await problems(yaml("redirect scheme https code 305")), [
    "11:36 http-request redirect: invalid status '305' (one of 301, 302, 303, 307, 308)",
  ]);
  assertEquals(await problems(yaml("deny deny_status 418")), [
    "11:26 http-request deny: status 418 has no default page (one of 200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504)",
  ]);
  assertEquals(await problems(yaml("set-header X 1 if nope")), [
    "11:27 http-request set-header: unknown ACL 'nope'",
  ]);
  assertEquals(await problems(yaml("set-header X")), [
    "11:20 http-request set-header: 'X' expects a value",
  ]);
  assertEquals(await problems(yaml("return string hi")), [
    "11:16 http-request return: 'return' with a body needs a 'content-type'",
  ]);
});

Deno.test("a backend's rules name the backend's own ACLs (several lines of one name OR); a frontend's ACL is not theirs", async () => {
  const be = new RawBackend(echoHead);
  const backend = `    acls:
      is_admin: [path_beg /admin, path_beg /manage]
    http-request:
${rules(["deny if is_admin", "set-header X-Seen 1 unless is_admin"])}
`;
  const px = await startTestProxy(simpleConfig({ s1: be.address }, { backend }));
  try {
    assertEquals((await get(px.port, "/admin/x")).status, 403);
    assertEquals((await get(px.port, "/manage")).status, 403);
    assertEquals((await get(px.port, "/app")).status, 200);
    assert(be.received.at(-1)!.head.includes("x-seen: 1\r\n"), be.received.at(-1)!.head);
    assertEquals(be.received.length, 1); // the denied requests never reached the server
  } finally {
    await px.stop();
    await be.close();
  }
  // The frontend's ACLs are the frontend's: a backend rule naming one is refused, and a bad
  // backend ACL is an error at its word.
  const yaml = simpleConfig({ s1: "127.0.0.1:1" }, {
    frontend: "    acls:\n      fe_only: path_beg /x\n",
    backend: "    acls:\n      bad: nosuchfetch 1\n    http-request:\n      - deny if fe_only\n",
  });
  assertEquals(await problems(yaml), [
    "16:12 acl 'bad': unknown fetch 'nosuchfetch'",
    "18:17 http-request deny: unknown ACL 'fe_only'",
  ]);
});
