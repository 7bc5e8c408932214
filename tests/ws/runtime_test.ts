// End to end through the real proxy (startRuntime): Wt's push channel is routed by its wtd=
// prefix like any request, relayed, counted per server, logged, and closed on stop().

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { encodeFrame, OP_TEXT } from "./codec.ts";
import { startWtServer } from "../../src/demo/wtserver.ts";
import { openClient, sleep, startEchoBackend, within, wsHead } from "./harness.ts";

function wtConfig(p1: number, p2: number, tunnel = ""): string {
  return `
defaults:
  mode: http
  options: { forwardfor: true, originalto: true }
  timeouts: { connect: 1s, client: 5s, server: 5s${tunnel} }
frontends:
  wt:
    bind: ["127.0.0.1:0"]
    acls:
      srv1: url_sub wtd=wt1
      srv2: url_sub wtd=wt2
    use_backend:
      - { backend: bck1, if: srv1 }
      - { backend: bck2, if: srv2 }
    default_backend: bck1
backends:
  bck1:
    servers:
      srv1: { address: 127.0.0.1:${p1} }
  bck2:
    servers:
      srv2: { address: 127.0.0.1:${p2} }
`;
}

Deno.test("ws e2e: wtd= routes the push channel; relay, counters, log line, XFF", async () => {
  const b1 = startEchoBackend();
  const b2 = startEchoBackend();
  const proxy = await startTestProxy(wtConfig(b1.port, b2.port));
  try {
    const c1 = await within(openClient(proxy.port, "/?wtd=wt1abc&request=ws"), 5000, "open wt1");
    const c2 = await within(openClient(proxy.port, "/?wtd=wt2xyz&request=ws"), 5000, "open wt2");
    assertEquals([b1.handshakes.length, b2.handshakes.length], [1, 1]);
    assertEquals(b1.handshakes[0].get("x-forwarded-for"), "127.0.0.1");
    c1.ws.send("to wt1");
    c2.ws.send(new Uint8Array([1, 2, 3]));
    assertEquals(await within(c1.next(), 5000, "echo 1"), "to wt1");
    assertEquals(
      new Uint8Array((await within(c2.next(), 5000, "echo 2")) as ArrayBuffer),
      new Uint8Array([1, 2, 3]),
    );
    const s1 = proxy.runtime.state.server("bck1", "srv1")!.counters;
    assertEquals([s1.wsOpen, s1.wsTotal, s1.wsMessagesIn, s1.wsMessagesOut], [1, 1, 1, 1]);
    c1.ws.close(4000, "bye");
    c2.ws.close();
    await within(Promise.all([c1.closed, c2.closed]), 5000, "closed");
    const logs = await proxy.waitLogs(2);
    const byServer = Object.fromEntries(logs.map((r) => [`${r.backend}/${r.server}`, r]));
    assertEquals(byServer["bck1/srv1"].status, 101);
    assertEquals(byServer["bck2/srv2"].termination, "----");
    assertEquals(s1.wsOpen, 0);
  } finally {
    await proxy.stop();
    await b1.close();
    await b2.close();
  }
});

Deno.test("ws e2e: timeout tunnel closes a silent channel (cD--); stop() closes with 1001", async () => {
  const b1 = startEchoBackend();
  const proxy = await startTestProxy(wtConfig(b1.port, b1.port, ", tunnel: 700ms"));
  try {
    const c = await within(openClient(proxy.port, "/?wtd=wt1a&request=ws"), 5000, "open");
    const t0 = Date.now();
    await within(c.closed, 5000, "idle close");
    assert(Date.now() - t0 >= 690, `closed after ${Date.now() - t0} ms`);
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.status, rec.termination], [101, "cD--"]);
    const d = await within(openClient(proxy.port, "/?wtd=wt1b&request=ws"), 5000, "open 2");
    await sleep(50);
    const stopping = proxy.stop();
    assertEquals((await within(d.closed, 5000, "closed by stop")).code, 1001);
    await stopping;
  } finally {
    await proxy.stop().catch(() => {});
    await b1.close();
  }
});

Deno.test("ws e2e: the demo server's push channel ticks through the proxy; unknown session 403", async () => {
  const wt1 = await startWtServer({ prefix: "wt1" });
  const wt2 = await startWtServer({ prefix: "wt2" });
  const proxy = await startTestProxy(wtConfig(wt1.port, wt2.port));
  try {
    const base = `http://127.0.0.1:${proxy.port}`;
    const page = await fetch(`${base}/`);
    await page.body?.cancel();
    const id = page.headers.get("x-wt-session")!;
    assert(/^wt[12]/.test(id), id);
    const script = await (await fetch(`${base}/?wtd=${id}&request=script`)).text();
    assert(script.includes("&request=ws"), "the boot script opens the push channel");
    const c = await within(openClient(proxy.port, `/?wtd=${id}&request=ws`), 5000, "open");
    const first = JSON.parse((await within(c.next(), 5000, "first tick")) as string);
    assertEquals([first.tick, first.session], [0, id]);
    const second = JSON.parse((await within(c.next(), 5000, "second tick")) as string);
    assertEquals([second.tick, second.server], [1, id.slice(0, 3)]);
    c.ws.close();
    await c.closed;
    const refused = await fetch(`${base}/?wtd=wt1AAAAAAAAAAAAAAAA&request=ws`, {
      headers: {
        connection: "upgrade",
        upgrade: "websocket",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    await refused.body?.cancel();
    assertEquals(refused.status, 403);
  } finally {
    await proxy.stop();
    await wt1.stop();
    await wt2.stop();
  }
});

Deno.test("ws e2e: no usable server -> 503 page, logged with its size like any 503", async () => {
  const proxy = await startTestProxy(`
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
  wt:
    bind: ["127.0.0.1:0"]
    default_backend: bck1
backends:
  bck1:
    servers:
      srv1: { address: 127.0.0.1:9, disabled: true }
`);
  try {
    const res = await fetch(`http://127.0.0.1:${proxy.port}/?wtd=wt1a&request=ws`, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    const body = await res.text();
    assertEquals(res.status, 503);
    assert(body.includes("No server is available"), body);
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.status, rec.termination, rec.server], [503, "SC--", null]);
    assert(rec.bytesRead > body.length, `logged ${rec.bytesRead} bytes`);
  } finally {
    await proxy.stop();
  }
});

Deno.test("ws: an upgrade pipelined behind another request on one connection still tunnels", async () => {
  const backend = startEchoBackend();
  const px = await startTestProxy(simpleConfig({ s1: `127.0.0.1:${backend.port}` }));
  const c = await RawClient.connect(px.port);
  try {
    // Both requests in one write: the proxy reads the upgrade while answering the first one.
    await c.send(
      "GET /deny HTTP/1.1\r\nHost: a\r\n\r\n" + wsHead(px.port, "/?wtd=wt1pipe") + "\r\n\r\n",
    );
    assertEquals((await within(c.response(), 5000, "first answer")).status, 403);
    assertEquals((await within(c.response(), 5000, "101")).status, 101);
    for (const part of encodeFrame(OP_TEXT, new TextEncoder().encode("hello"))) await c.send(part);
    const buf = new Uint8Array(64);
    let got = "";
    while (!got.includes("hello")) {
      const n = await within(c.conn.read(buf), 5000, "echo");
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert(got.endsWith("hello"), JSON.stringify(got));
  } finally {
    c.close();
    await px.stop();
    await backend.close();
  }
});

Deno.test("ws: a tunnel holds its maxconn slot until it closes", async () => {
  const backend = startEchoBackend();
  const px = await startTestProxy(
    simpleConfig({ s1: `127.0.0.1:${backend.port}` }, { frontend: "    maxconn: 1" }),
  );
  // The tunnel first (a connection takes its slot when accepted, before any request).
  const client = await within(openClient(px.port, "/?wtd=wt1slot"), 5000, "open");
  const c = await RawClient.connect(px.port);
  try {
    await c.send("GET /deny HTTP/1.1\r\nHost: a\r\n\r\n");
    let answered = false;
    const plain = c.response().then((r) => {
      answered = true;
      return r;
    });
    await sleep(200);
    assert(!answered, "the tunnel holds the only slot");
    client.ws.close(1000, "bye");
    await within(client.closed, 5000, "closed");
    assertEquals((await within(plain, 5000, "answer after the tunnel")).status, 403);
  } finally {
    c.close();
    await px.stop();
    await backend.close();
  }
});
