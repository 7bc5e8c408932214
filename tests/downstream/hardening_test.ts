// Adversarial cases for the client-side server: desync after pipelining, slow and hostile
// clients, framing edge cases, resources released on every path.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fullHeadParses } from "../../src/downstream/head.ts";
import type { ClientExchange } from "../../src/downstream/types.ts";
import { armedWatchdogs } from "../../src/net/watchdog.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { serve, sleep } from "./harness.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

/** Answers with the request line and the body it read, as text. */
async function echo(ex: ClientExchange): Promise<void> {
  let body = "";
  if (ex.body) {
    for (let c; (c = await ex.body.read()) !== null;) body += dec.decode(c);
  }
  const text = `${ex.head.method} ${ex.head.target} body=${body}`;
  await ex.sendWhole(200, "OK", "", enc.encode(text));
}

/** Reads until EOF (or `ms`), as latin-1-ish text. */
async function readAll(conn: Deno.Conn, ms = 3000): Promise<string> {
  const buf = new Uint8Array(65536);
  let out = "";
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(5);
}

Deno.test("hardening: a body arriving after a pipelined bodiless request is read in order", async () => {
  // GET and the head of a POST arrive together; the GET's answer leaves a read pending on the
  // socket (to notice the client leaving). The POST's body, sent later, must reach the body
  // reader, not that pending read.
  const h = serve(echo, { clientTimeout: 2000 });
  const c = await RawClient.connect(h.port);
  try {
    await c.send(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
    );
    assertEquals((await c.response()).text, "GET /a body=");
    await sleep(50);
    await c.send("0123456789");
    assertEquals((await c.response()).text, "POST /b body=0123456789");
    await c.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await c.response()).text, "GET /c body=");
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: the same with a chunked body sent in pieces", async () => {
  const h = serve(echo, { clientTimeout: 2000 });
  const c = await RawClient.connect(h.port);
  try {
    await c.send(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
    );
    assertEquals((await c.response()).text, "GET /a body=");
    await sleep(50);
    await c.send("hello\r\n");
    await sleep(20);
    await c.send("0\r\n\r\n");
    assertEquals((await c.response()).text, "POST /b body=hello");
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: a head trickled byte by byte is fully parsed only once", async () => {
  const h = serve(echo);
  const c = await RawClient.connect(h.port);
  try {
    const head = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: " + "p".repeat(300) + "\r\n\r\n";
    const before = fullHeadParses();
    for (let i = 0; i < head.length; i++) {
      await c.send(head[i]);
      // Let the server read each byte on its own.
      if (i % 4 === 0) await sleep(0);
    }
    assertEquals((await c.response()).text, "GET /slow body=");
    const parses = fullHeadParses() - before;
    assert(parses <= 3, `${parses} full parses for one ${head.length}-byte head`);
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: timeout http-request bounds the whole head, not each read", async () => {
  // A client sending one byte every 60 ms never leaves the connection idle for 300 ms, yet the
  // head is not complete 300 ms after the connection opened: 408, as HAProxy answers.
  const h = serve(echo, { httpRequestTimeout: 300, clientTimeout: 5000 });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
  try {
    const reply = readAll(c, 5000);
    const t0 = Date.now();
    const slow = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(60);
    let sent = 0;
    for (; sent < slow.length && Date.now() - t0 < 3000; sent++) {
      try {
        await c.write(enc.encode(slow[sent]));
      } catch {
        break;
      }
      await sleep(60);
      if (h.bad.length > 0) break;
    }
    const r = await reply;
    assert(r.startsWith("HTTP/1.1 408 Request Time-out\r\n"), JSON.stringify(r));
    assert(Date.now() - t0 < 2000, `408 only after ${Date.now() - t0} ms`);
    assertEquals(h.bad.map((b) => [b.status, b.termination]), [[408, "cR--"]]);
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: an unsupported HTTP version gets the 400 page, not a 502 page", async () => {
  const h = serve(echo);
  try {
    for (const req of ["GET / HTTP/1.2\r\n\r\n", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"]) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
      await c.write(enc.encode(req));
      const r = await readAll(c);
      c.close();
      assert(r.startsWith("HTTP/1.1 400 Bad request\r\nContent-length: 90\r\n"), r);
    }
    assertEquals(h.bad.map((b) => b.status), [400, 400]);
  } finally {
    await h.close();
  }
});

Deno.test("hardening: a chunk size beyond 2^53 is refused (no silent precision loss)", async () => {
  let failure = "";
  let handled = 0;
  const h = serve(async (ex) => {
    handled++;
    try {
      while ((await ex.body!.read()) !== null) { /* drain */ }
      await ex.sendWhole(200, "OK", "", enc.encode("read"));
    } catch (err) {
      failure = String(err);
      await ex.sendError(400);
    }
  });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
  try {
    await c.write(enc.encode(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20000000000001\r\nab",
    ));
    const r = await readAll(c);
    assert(r.startsWith("HTTP/1.1 400 "), r);
    // Arriving with the head, it is refused before the handler sees the request.
    assertEquals(handled, 0);
    assert(h.bad[0].reason.includes("chunk size"), h.bad[0].reason);
    // Arriving later, the body reader refuses it.
    const d = await RawClient.connect(h.port);
    await d.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    await until(() => handled === 1);
    await d.send("20000000000001\r\nab");
    assertEquals((await d.response()).status, 400);
    d.close();
    assert(failure.includes("chunk size"), failure);
  } finally {
    try {
      c.close();
    } catch { /* closed by readAll */ }
    await h.close();
  }
});

Deno.test("hardening: nothing is left armed or open after hostile connections", async () => {
  const quiet = (ex: ClientExchange) => echo(ex).catch(() => ex.abort());
  const h = serve(quiet, { clientTimeout: 200, httpRequestTimeout: 200, keepAliveTimeout: 200 });
  try {
    const conns: Deno.TcpConn[] = [];
    for (
      const data of [
        "",
        "GET / HT",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "BAD\x01 / HTTP/1.1\r\n\r\n",
      ]
    ) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
      conns.push(c);
      if (data) await c.write(enc.encode(data));
    }
    await sleep(30);
    for (const c of conns) c.close();
    await until(() => h.server.connections === 0);
    assertEquals(h.server.connections, 0);
    await until(() => armedWatchdogs() === 0);
    assertEquals(armedWatchdogs(), 0);
  } finally {
    await h.close();
  }
});

Deno.test("hardening: idle kept-alive connections do not pin a full read buffer each", async () => {
  const h = serve(echo);
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect(h.port);
      clients.push(c);
      await c.send(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assertEquals((await c.response()).text, `GET /${i} body=`);
    }
    // A new connection that sent nothing yet is idle too.
    clients.push(await RawClient.connect(h.port));
    await until(() => h.server.connections === 21);
    await sleep(20);
    const perConn = h.server.bufferBytes / h.server.connections;
    assert(perConn <= 4096, `${perConn} bytes of read buffer per idle connection`);
    // They still serve requests, bodies included.
    await clients[3].send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    assertEquals((await clients[3].response()).text, "POST /p body=abc");
    await clients[20].send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await clients[20].response()).text, "GET /late body=");
  } finally {
    for (const c of clients) c.close();
    await h.close();
  }
});

Deno.test("hardening: a head longer than the first small read is assembled", async () => {
  const h = serve(echo);
  const c = await RawClient.connect(h.port);
  try {
    for (const size of [100, 2047, 2048, 2049, 5000, 40000]) {
      const req = `GET /${size} HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(size)}\r\n\r\n`;
      await c.send(req + req); // two of them, pipelined
      assertEquals((await c.response()).text, `GET /${size} body=`);
      assertEquals((await c.response()).text, `GET /${size} body=`);
    }
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: a client that never reads is cut after timeout client", async () => {
  let failed: unknown = null;
  const done = Promise.withResolvers<void>();
  const h = serve(async (ex) => {
    try {
      await ex.sendHead(200, "OK", "", { kind: "stream" });
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 10000; i++) await ex.write(chunk); // 640 MB at most: never reached
      await ex.end();
    } catch (err) {
      failed = err;
    } finally {
      done.resolve();
    }
  }, { clientTimeout: 200 });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
  try {
    await c.write(enc.encode("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    await done.promise;
    assert(failed instanceof Error && failed.name === "ClientTimeout", String(failed));
    await until(() => h.server.connections === 0);
    assertEquals(h.server.connections, 0);
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: Transfer-Encoding variants that could desync are refused", async () => {
  const h = serve(echo);
  try {
    for (
      const te of [
        "chunked , chunked",
        "xchunked",
        "chunked, gzip",
        "chunked\r\nTransfer-Encoding: chunked",
        "identity",
        "",
      ]
    ) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
      await c.write(enc.encode(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`,
      ));
      const r = await readAll(c);
      c.close();
      assert(r.startsWith("HTTP/1.1 400 Bad request\r\n"), `${JSON.stringify(te)}: ${r}`);
      assert(!r.includes("smuggled"), r);
    }
    // Another coding before chunked: HAProxy's 422, and the connection closes.
    for (
      const te of [
        "identity, chunked",
        "gzip, chunked",
        ", chunked",
        "x\r\nTransfer-Encoding: chunked",
      ]
    ) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
      await c.write(enc.encode(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`,
      ));
      const r = await readAll(c);
      c.close();
      assertEquals(
        r,
        "HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\n" +
          "Content-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\n" +
          "The server cannot process the contained instructions.\n</body></html>\n",
        JSON.stringify(te),
      );
    }
    assertEquals(h.bad.map((b) => b.status), [400, 400, 400, 400, 400, 400, 422, 422, 422, 422]);
  } finally {
    await h.close();
  }
});

Deno.test("hardening: CL and TE together: chunked wins, the connection closes after", async () => {
  const h = serve(echo);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
  try {
    await c.write(enc.encode(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding:\tChunked\r\n\r\n" +
        "3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    const r = await readAll(c);
    assert(r.includes("POST / body=abc"), r);
    assert(r.includes("connection: close\r\n"), r);
    assert(!r.includes("smuggled"), r);
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: an unread body is never parsed as the next request", async () => {
  // The handler answers without reading the body: the connection must close, whatever the
  // body holds.
  const h = serve(async (ex) => {
    await ex.sendWhole(200, "OK", "", enc.encode(`answered ${ex.head.target}`));
  });
  try {
    for (
      const req of [
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "1a\r\nGET /smuggled HTTP/1.1\r\n\r\n\r\n0\r\n\r\n",
      ]
    ) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
      await c.write(enc.encode(req));
      const r = await readAll(c);
      c.close();
      assert(r.includes("answered /a"), r);
      assert(!r.includes("smuggled"), r);
    }
  } finally {
    await h.close();
  }
});

Deno.test("hardening: Content-Length with leading zeros is the number; huge ones are refused", async () => {
  const h = serve(echo);
  try {
    const c = await RawClient.connect(h.port);
    await c.send(
      "POST /z HTTP/1.1\r\nHost: x\r\nContent-Length: 0003\r\n\r\nabcGET /n HTTP/1.1\r\n\r\n",
    );
    assertEquals((await c.response()).text, "POST /z body=abc");
    assertEquals((await c.response()).text, "GET /n body=");
    c.close();
    const d = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    await d.write(enc.encode("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"));
    const r = await readAll(d);
    d.close();
    assert(r.startsWith("HTTP/1.1 400 Bad request\r\n"), r);
  } finally {
    await h.close();
  }
});

Deno.test("hardening: a head over 64 KB gets the 400 page", async () => {
  const h = serve(echo);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
  try {
    const reply = readAll(c);
    const line = "X-Pad: " + "p".repeat(1000) + "\r\n";
    try {
      await c.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
      for (let i = 0; i < 70; i++) await c.write(enc.encode(line));
    } catch { /* the server may close while we still send */ }
    const r = await reply;
    assert(r.startsWith("HTTP/1.1 400 Bad request\r\n"), r.slice(0, 200));
    assertEquals(h.bad.map((b) => [b.status, b.termination]), [[400, "PR--"]]);
  } finally {
    try {
      c.close();
    } catch { /* closed by readAll */ }
    await h.close();
  }
});

Deno.test("hardening: thousands of pipelined requests are answered in order, buffer bounded", async () => {
  const h = serve(echo);
  const c = await RawClient.connect(h.port);
  try {
    const n = 2000;
    let batch = "";
    for (let i = 0; i < n; i++) batch += `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const sending = c.send(batch);
    let maxBuffer = 0;
    for (let i = 0; i < n; i++) {
      assertEquals((await c.response()).text, `GET /${i} body=`);
      maxBuffer = Math.max(maxBuffer, h.server.bufferBytes);
    }
    await sending;
    assert(maxBuffer <= 64 * 1024 + 4096, `${maxBuffer} bytes buffered`);
  } finally {
    c.close();
    await h.close();
  }
});

Deno.test("hardening: drain with connections in every state", async () => {
  const release = Promise.withResolvers<void>();
  const bodyStarted = Promise.withResolvers<void>();
  let slow = 0;
  const h = serve(async (ex) => {
    if (ex.head.target === "/slow") {
      slow++;
      await release.promise;
    }
    let body = "";
    if (ex.body) {
      bodyStarted.resolve();
      for (let c; (c = await ex.body.read()) !== null;) body += dec.decode(c);
    }
    await ex.sendWhole(200, "OK", "", enc.encode(`${ex.head.target} ${body}`));
  });
  const fresh = await RawClient.connect(h.port); // nothing sent
  const kept = await RawClient.connect(h.port); // idle after a response
  const partial = await RawClient.connect(h.port); // half a head
  const busy = await RawClient.connect(h.port); // handler running
  const upload = await RawClient.connect(h.port); // body half sent
  const piped = await RawClient.connect(h.port); // two pipelined, the first one slow
  try {
    await kept.send("GET /k HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await kept.response()).text, "/k ");
    await partial.send("GET /p HTTP/1.1\r\nHo");
    await busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await upload.send("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc");
    await bodyStarted.promise;
    await piped.send(
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    await until(() => slow === 2);
    await partial.send("st"); // the partial head is read (it is not idle)
    await sleep(30);
    const drained = h.server.drain(3000);
    assert(await fresh.waitClosed(), "a fresh connection is closed at once");
    assert(await kept.waitClosed(), "an idle kept-alive one too");
    await partial.send(": x\r\n\r\n");
    const p = await partial.response();
    assertEquals(p.text, "/p ");
    assert(p.headers.some(([n, v]) => n === "connection" && v === "close"));
    await upload.send("def");
    const u = await upload.response();
    assertEquals(u.text, "/u abcdef");
    assert(u.headers.some(([n, v]) => n === "connection" && v === "close"));
    release.resolve();
    assertEquals((await busy.response()).text, "/slow ");
    const first = await piped.response();
    assertEquals(first.text, "/slow ");
    assert(first.headers.some(([n, v]) => n === "connection" && v === "close"));
    assert(await piped.waitClosed(), "the pipelined second request is not answered");
    assert(await drained, "all gone");
    assertEquals(armedWatchdogs(), 0);
  } finally {
    for (const c of [fresh, kept, partial, busy, upload, piped]) c.close();
    await h.close();
  }
});
