// What the server receives: the exact request head through the proxy (a raw TCP backend
// echoing the bytes it got), and what the client receives back.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { RawClient, rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";

Deno.test("request head: target, Host and line order unchanged, no header added, hop-by-hop removed", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const res = await rawRequest(
      px.port,
      "GET /a/../b//c/%2e%2e/x?y=%2F&z=1 HTTP/1.1\r\n" +
        "Host: Front.Example:8080\r\n" +
        "X-Custom: Keep  Me\r\n" +
        "Connection: keep-alive, X-Hop\r\n" +
        "X-Hop: secret\r\n" +
        "Keep-Alive: timeout=5\r\n" +
        "Proxy-Connection: keep-alive\r\n" +
        "TE: trailers, deflate\r\n" +
        "Trailer: X-T\r\n" +
        "Upgrade: h2c\r\n" +
        "Cookie: a=1\r\n" +
        "\r\n",
    );
    assertEquals(res.status, 200);
    const head = be.received[0].head;
    assertEquals(
      head,
      "GET /a/../b//c/%2e%2e/x?y=%2F&z=1 HTTP/1.1\r\n" +
        "host: Front.Example:8080\r\n" +
        "x-custom: Keep  Me\r\n" +
        "te: trailers\r\n" +
        "cookie: a=1\r\n" +
        "\r\n",
    );
    // The echo came back byte for byte.
    assertEquals(res.text, head);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("forwardfor and originalto: appended last, client copies kept before", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(simpleConfig({ s1: be.address }, {
    defaults: "  options: { forwardfor: true, originalto: true }",
  }));
  try {
    await rawRequest(
      px.port,
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 9.9.9.9, 8.8.8.8\r\n" +
        "X-Forwarded-For: 7.7.7.7\r\n\r\n",
    );
    const lines = be.received[0].head.split("\r\n").filter((l) => l);
    assertEquals(lines.slice(1), [
      "host: a",
      "x-forwarded-for: 9.9.9.9, 8.8.8.8",
      "x-forwarded-for: 7.7.7.7",
      "x-forwarded-for: 127.0.0.1",
      "x-original-to: 127.0.0.1",
    ]);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("forwardfor except / header / if-none", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(`
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
  f1:
    bind: ["127.0.0.1:0"]
    default_backend: b_except
  f2:
    bind: ["127.0.0.1:0"]
    default_backend: b_header
backends:
  b_except:
    options: { forwardfor: { except: 127.0.0.0/8 }, originalto: { except: 127.0.0.1 } }
    servers: { s1: { address: ${be.address} } }
  b_header:
    options: { forwardfor: { header: X-Client-IP, if-none: true } }
    servers: { s1: { address: ${be.address} } }
`);
  try {
    const [p1, p2] = px.runtime.listeners.map((l) => l.port);
    await rawRequest(p1, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(be.received[0].head, "GET /1 HTTP/1.1\r\nhost: a\r\n\r\n");
    await rawRequest(p2, "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(
      be.received[1].head,
      "GET /2 HTTP/1.1\r\nhost: a\r\nx-client-ip: 127.0.0.1\r\n\r\n",
    );
    await rawRequest(p2, "GET /3 HTTP/1.1\r\nHost: a\r\nX-Client-IP: 1.2.3.4\r\n\r\n");
    assertEquals(be.received[2].head, "GET /3 HTTP/1.1\r\nhost: a\r\nx-client-ip: 1.2.3.4\r\n\r\n");
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("server-close: connection: close sent; pretend-keepalive: no Connection header", async () => {
  const be = new RawBackend(echoHead);
  const yaml = (pretend: boolean) =>
    simpleConfig({ s1: be.address }, {
      defaults: `  options: { http-server-close: true, http-pretend-keepalive: ${pretend} }`,
    });
  let px = await startTestProxy(yaml(false));
  try {
    await rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(be.received[0].head, "GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n");
    await px.stop();
    px = await startTestProxy(yaml(true));
    await rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assertEquals(be.received[1].head, "GET / HTTP/1.1\r\nhost: a\r\n\r\n");
    // One server connection per request in server-close mode.
    await rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert(be.received[2].connection !== be.received[1].connection);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("httpclose: the client connection closes after the response; server-close keeps it", async () => {
  const be = new RawBackend(echoHead);
  const yaml = (option: string) =>
    simpleConfig({ s1: be.address }, { defaults: `  options: { ${option}: true }` });
  let px = await startTestProxy(yaml("httpclose"));
  let c = await RawClient.connect(px.port);
  try {
    await c.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
    const r = await c.response();
    assertEquals(r.status, 200);
    assert(r.headers.some(([n, v]) => n === "connection" && v === "close"), r.head);
    assert(await c.waitClosed(), "httpclose closes the client connection");
    c.close();
    await px.stop();
    px = await startTestProxy(yaml("http-server-close"));
    c = await RawClient.connect(px.port);
    for (const path of ["/b", "/c"]) {
      await c.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const r2 = await c.response();
      assertEquals(r2.status, 200);
      assert(!r2.headers.some(([n]) => n === "connection"), r2.head);
    }
  } finally {
    c.close();
    await px.stop();
    await be.close();
  }
});

Deno.test("response: status and headers kept, every Set-Cookie, hop-by-hop dropped", async () => {
  const be = new RawBackend(async (_req, c) => {
    await c.write(
      "HTTP/1.1 201 Created Here\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\n" +
        "Set-Cookie: c=3, d=4\r\nConnection: keep-alive, X-Hop\r\nX-Hop: no\r\n" +
        "Keep-Alive: timeout=5\r\nX-End: yes\r\nContent-Length: 5\r\n\r\nhello",
    );
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const res = await rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(res.status, 201);
    assertEquals(res.text, "hello");
    const names = res.headers.map(([k]) => k);
    assertEquals(res.headers.filter(([k]) => k === "set-cookie").map(([, v]) => v), [
      "a=1; Path=/",
      "b=2; HttpOnly",
      "c=3, d=4",
    ]);
    assert(!names.includes("x-hop") && !names.includes("keep-alive"));
    assert(!names.includes("connection"));
    assertEquals(res.headers.find(([k]) => k === "x-end")?.[1], "yes");
    assertEquals(res.headers.find(([k]) => k === "content-length")?.[1], "5");
    const [rec] = await px.waitLogs(1);
    assertEquals(rec.status, 201);
    assertEquals(rec.termination, "----");
    assertEquals(rec.backend, "b");
    assertEquals(rec.server, "s1");
    assertEquals(rec.requestLine, "GET / HTTP/1.1");
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("interim answers: 103 Early Hints reaches an HTTP/1.1 client before the final answer", async () => {
  const be = new RawBackend(async (_req, c) => {
    await c.write(
      "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n" +
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const c = await RawClient.connect(px.port);
  try {
    await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const hint = await c.response();
    assertEquals(hint.status, 103);
    assertEquals(hint.statusLine, "HTTP/1.1 103 Early Hints");
    assert(hint.headers.some(([n, v]) => n === "link" && v === "</app.css>; rel=preload"));
    const final = await c.response();
    assertEquals([final.status, final.text], [200, "ok"]);
    // An HTTP/1.0 client must not get a 1xx: only the final answer.
    const old = await rawRequest(px.port, "GET / HTTP/1.0\r\n\r\n");
    assertEquals([old.status, old.text], [200, "ok"]);
  } finally {
    c.close();
    await px.stop();
    await be.close();
  }
});
