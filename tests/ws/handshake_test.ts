// The handshake: what is refused (400), what the backend sees, what the client gets back
// when the backend refuses (its own answer) or answers badly (502), subprotocols.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { acceptFor, checkClientHandshake, isWebSocketUpgrade } from "../../src/ws/handshake.ts";
import {
  answer101,
  dec,
  emptyLog,
  KEY,
  openClient,
  rawClient,
  startEchoBackend,
  startProxy,
  startRawBackend,
  within,
  writeAll,
  wsHead,
} from "./harness.ts";

const BAD_REQUEST_BODY =
  "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";

async function readBody(conn: Deno.Conn, head: string, already: Uint8Array): Promise<string> {
  const m = /content-length: *(\d+)/i.exec(head);
  const want = m ? Number(m[1]) : -1;
  let body = already;
  const buf = new Uint8Array(8192);
  while (want < 0 || body.length < want) {
    const n = await conn.read(buf);
    if (n === null) break;
    const j = new Uint8Array(body.length + n);
    j.set(body);
    j.set(buf.subarray(0, n), body.length);
    body = j;
  }
  return dec.decode(body);
}

Deno.test("ws: accept value of RFC 6455's example key", async () => {
  assertEquals(await acceptFor(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("ws: upgrade detection", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  assert(isWebSocketUpgrade(h({ connection: "keep-alive, Upgrade", upgrade: "WebSocket" })));
  assert(!isWebSocketUpgrade(h({ upgrade: "websocket" })));
  assert(!isWebSocketUpgrade(h({ connection: "upgrade", upgrade: "h2c" })));
});

Deno.test("ws: bad key, bad version, hixie-76 -> 400 (HAProxy's page, PR--)", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  const base = (key: string | null, more: string[] = []) =>
    [
      "GET /?wtd=wt1&request=ws HTTP/1.1",
      "Host: x",
      "Connection: Upgrade",
      "Upgrade: websocket",
      ...(key === null ? [] : [`Sec-WebSocket-Key: ${key}`]),
      ...more,
    ].join("\r\n");
  const cases: [string, string][] = [
    ["short key", base("short", ["Sec-WebSocket-Version: 13"])],
    ["missing key", base(null, ["Sec-WebSocket-Version: 13"])],
    ["25-char key", base("dGhlIHNhbXBsZSBub25jZQ==A", ["Sec-WebSocket-Version: 13"])],
    ["not base64", base("dGhlIHNhbXBsZSBub25jZ!==", ["Sec-WebSocket-Version: 13"])],
    ["version 8", base(KEY, ["Sec-WebSocket-Version: 8"])],
    ["no version", base(KEY)],
    [
      "hixie-76",
      [
        "GET /demo HTTP/1.1",
        "Host: example.com",
        "Connection: Upgrade",
        "Upgrade: WebSocket",
        "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5",
        "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00",
        "Origin: http://example.com",
      ].join("\r\n") + "\r\n\r\n^n:ds[4U",
    ],
  ];
  try {
    for (const [what, head] of cases) {
      const r = await within(rawClient(proxy.port, head), 5000, what);
      assertEquals(r.status, 400, what);
      const body = await within(readBody(r.conn, r.head, r.rest), 5000, "body");
      assert(body.startsWith(BAD_REQUEST_BODY.slice(0, 30)), `${what}: body ${body}`);
      r.conn.close();
      const rec = await within(proxy.nextLog(), 5000, "log");
      assertEquals([rec.status, rec.termination, rec.server, rec.requestLine], [
        400,
        "PR--",
        null,
        null,
      ]);
    }
    assertEquals(backend.handshakes.length, 0);
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: client checks as pure function (HTTP/1.0, method)", () => {
  const info = (version: string, method = "GET") => ({
    method,
    target: "/",
    path: "/",
    query: null,
    version,
    headers: new Headers({ "sec-websocket-key": KEY, "sec-websocket-version": "13" }),
    srcIp: "127.0.0.1",
    srcPort: 1,
    dstIp: "127.0.0.1",
    dstPort: 2,
  });
  assertEquals(typeof checkClientHandshake(info("HTTP/1.0")), "string");
  assertEquals(typeof checkClientHandshake(info("HTTP/1.1", "POST")), "string");
  assertEquals(checkClientHandshake(info("HTTP/1.1")), { key: KEY, protocols: [] });
  const withBody = info("HTTP/1.1");
  withBody.headers.set("content-length", "3");
  assertEquals(typeof checkClientHandshake(withBody), "string");
  void emptyLog;
});

Deno.test("ws: the backend sees the client's headers + forwarded ones, no extensions", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const r = await within(
      rawClient(
        proxy.port,
        wsHead(proxy.port, "/app/?wtd=wt1xyz&request=ws", [
          "Host: app.example:8080",
          "Origin: http://app.example:8080",
          "Cookie: JSESSIONID=1; wt=2",
          "User-Agent: Mozilla/5.0 test",
          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
          "Sec-WebSocket-Protocol: chat.v1, chat.v2",
        ]).replace(`Host: 127.0.0.1:${proxy.port}\r\n`, ""),
      ),
      5000,
      "handshake",
    );
    assertEquals(r.status, 101);
    assert(/sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i.test(r.head), r.head);
    assert(/sec-websocket-protocol: chat.v2/i.test(r.head), r.head);
    assert(!/sec-websocket-extensions/i.test(r.head), r.head);
    assert(/\r\nset-cookie: ws=1/.test(r.head), "the backend's other 101 headers are relayed");
    assert(r.head.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), r.head);
    assert(/\r\nupgrade: websocket\r\n/i.test(r.head) && /\r\nconnection: upgrade/i.test(r.head));
    assert(!/\r\ndate:/i.test(r.head), "the backend's Date is not relayed on a 101");
    const h = backend.handshakes[0];
    assertEquals(h.get("host"), "app.example:8080");
    assertEquals(h.get("origin"), "http://app.example:8080");
    assertEquals(h.get("cookie"), "JSESSIONID=1; wt=2");
    assertEquals(h.get("user-agent"), "Mozilla/5.0 test");
    assertEquals(h.get("sec-websocket-key"), KEY);
    assertEquals(h.get("sec-websocket-protocol"), "chat.v1, chat.v2");
    assertEquals(h.get("x-forwarded-for"), "127.0.0.1");
    assertEquals(h.get("x-original-to"), "127.0.0.1");
    assertEquals(h.get("sec-websocket-extensions"), null);
    r.conn.close();
    await within(proxy.nextLog(), 5000, "log");
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: subprotocol negotiation follows the backend's choice", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    let c = await within(openClient(proxy.port, "/", ["chat.v1", "chat.v2"]), 5000, "open");
    assertEquals(c.ws.protocol, "chat.v2");
    c.ws.close();
    await c.closed;
    c = await within(openClient(proxy.port, "/"), 5000, "open");
    assertEquals(c.ws.protocol, "");
    c.ws.close();
    await c.closed;
    await proxy.nextLog();
    await proxy.nextLog();
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: a backend refusing with 403 reaches the client as 403 with its body", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const res = await fetch(`http://127.0.0.1:${proxy.port}/deny?wtd=nope&request=ws`, {
      headers: {
        connection: "upgrade",
        upgrade: "websocket",
        "sec-websocket-key": KEY,
        "sec-websocket-version": "13",
      },
    });
    assertEquals(res.status, 403);
    assertEquals(res.headers.get("x-why"), "origin");
    assertEquals(res.headers.get("set-cookie"), "a=1");
    assertEquals(await res.text(), "denied by backend");
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [403, "----"]);
    assert(rec.bytesRead > 17);
    assertEquals(proxy.counters.responses[4], 1);
    // A browser-like client sees the failure.
    await within(
      openClient(proxy.port, "/deny").then(() => assert(false, "opened"), () => {}),
      5000,
      "client error",
    );
    await proxy.nextLog();
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws: 101 without (or with a wrong) Sec-WebSocket-Accept -> 502, PH--", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    for (
      const [i, accept] of [[0, ""], [
        1,
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
      ]] as const
    ) {
      const clientP = rawClient(proxy.port, wsHead(proxy.port));
      const peer = await within(backend.accepted[i], 5000, "accept");
      await writeAll(
        peer.conn,
        new TextEncoder().encode(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${accept}\r\n`,
        ),
      );
      const r = await within(clientP, 5000, "answer");
      assertEquals(r.status, 502);
      r.conn.close();
      peer.conn.close();
      const rec = await within(proxy.nextLog(), 5000, "log");
      assertEquals([rec.status, rec.termination], [502, "PH--"]);
    }
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: no server -> connect()'s status (503 SC--); silent backend -> 504 sH--", async () => {
  const backend = startRawBackend();
  let proxy = startProxy({ backendPort: backend.port, connectError: { status: 503 } });
  try {
    let r = await within(rawClient(proxy.port, wsHead(proxy.port)), 5000, "503");
    assertEquals(r.status, 503);
    r.conn.close();
    let rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [503, "SC--"]);
    await proxy.close();
    proxy = startProxy({ backendPort: backend.port, timeouts: { server: 300 } });
    const t0 = Date.now();
    r = await within(rawClient(proxy.port, wsHead(proxy.port)), 5000, "504");
    assertEquals(r.status, 504);
    assert(Date.now() - t0 >= 290);
    r.conn.close();
    rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination, rec.tres], [504, "sH--", -1]);
    (await backend.accepted[0]).conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: the upstream handshake is the client's lines as received, forwarded ones last", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = rawClient(
      proxy.port,
      [
        "GET /ws?wtd=wt1a&request=ws HTTP/1.1",
        "Host: app.example",
        "X-Dup: 1",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "X-Forwarded-For: 9.9.9.9",
        "Sec-WebSocket-Extensions: permessage-deflate",
        "Accept-Encoding: gzip, deflate, br, zstd",
        "Sec-WebSocket-Key: " + KEY,
        "Sec-WebSocket-Version: 13",
        "X-Dup: 2",
      ].join("\r\n"),
    );
    const peer = await within(backend.accepted[0], 5000, "accept");
    assertEquals(peer.head.split("\r\n"), [
      "GET /ws?wtd=wt1a&request=ws HTTP/1.1",
      "host: app.example",
      "x-dup: 1",
      "connection: Upgrade",
      "upgrade: websocket",
      "x-forwarded-for: 9.9.9.9",
      "sec-websocket-key: " + KEY,
      "sec-websocket-version: 13",
      "x-dup: 2",
      "x-forwarded-for: 127.0.0.1",
      "x-original-to: 127.0.0.1",
    ]);
    await answer101(peer, "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-Server: wt\r\n");
    const r = await within(clientP, 5000, "101");
    assertEquals(r.head.split("\r\n").slice(1), [
      "upgrade: websocket",
      "connection: Upgrade",
      "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      "x-server: wt",
    ]);
    r.conn.close();
    await within(proxy.nextLog(), 5000, "log");
    peer.conn.close();
  } finally {
    await proxy.close();
    backend.close();
  }
});

Deno.test("ws: a 101 with Content-Encoding (Wt's gzipped stream) -> 502, PH--", async () => {
  const backend = startRawBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const clientP = rawClient(proxy.port, wsHead(proxy.port));
    const peer = await within(backend.accepted[0], 5000, "accept");
    await answer101(peer, "Content-Encoding: gzip\r\n");
    const r = await within(clientP, 5000, "answer");
    assertEquals(r.status, 502);
    r.conn.close();
    peer.conn.close();
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [502, "PH--"]);
  } finally {
    await proxy.close();
    backend.close();
  }
});
