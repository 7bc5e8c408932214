// The client-side HTTP/1.1 server on its own (a handler instead of the proxy): keep-alive and
// pipelining, framing toward HTTP/1.1 and HTTP/1.0 clients, HAProxy's 400/408, timeouts, a
// client leaving mid-request, takeover of the socket, drain.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ClientExchange } from "../../src/downstream/types.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { serve } from "./harness.ts";

const assertStringIncludes = (s: string, part: string) =>
  assert(s.includes(part), `${JSON.stringify(s)} lacks ${JSON.stringify(part)}`);
const dec = new TextDecoder();
const enc = new TextEncoder();

/** Answers with the request line and the body it read, as text. */
async function echo(ex: ClientExchange): Promise<void> {
  let body = "";
  if (ex.body) {
    for (let c; (c = await ex.body.read()) !== null;) body += dec.decode(c);
  }
  const text = `${ex.head.method} ${ex.head.target} ${ex.head.version} body=${body}`;
  await ex.sendWhole(200, "OK", "x-served: yes\r\n", enc.encode(text));
}

async function readAll(conn: Deno.Conn, ms = 2000): Promise<string> {
  const buf = new Uint8Array(65536);
  let out = "";
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    out += dec.decode(buf.subarray(0, n));
  }
  return out;
}

Deno.test("server: keep-alive and pipelined requests are answered in order", async () => {
  const h = serve(echo);
  const c = await RawClient.connect(h.port);
  try {
    await c.send(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    const a = await c.response();
    const b = await c.response();
    const d = await c.response();
    assertEquals(a.text, "GET /a HTTP/1.1 body=");
    assertEquals(b.text, "POST /b HTTP/1.1 body=hello");
    assertEquals(d.text, "POST /c HTTP/1.1 body=abc");
    assertEquals(a.status, 200);
    assert(a.headers.some(([n, v]) => n === "x-served" && v === "yes"));
  } finally {
    c.conn.close();
    await h.close();
  }
});

Deno.test("server: HTTP/1.0 gets close-delimited streams; keep-alive only when asked", async () => {
  const h = serve(async (ex) => {
    await ex.sendHead(200, "OK", "", { kind: "stream" });
    await ex.write(enc.encode("part1-"));
    await ex.write(enc.encode("part2"));
    await ex.end();
  });
  try {
    const c1 = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    await c1.write(enc.encode("GET / HTTP/1.0\r\n\r\n"));
    const r1 = await readAll(c1);
    c1.close();
    assertStringIncludes(r1, "connection: close\r\n");
    assert(!r1.includes("transfer-encoding"), r1);
    assert(r1.endsWith("\r\n\r\npart1-part2"), r1);

    const c2 = await RawClient.connect(h.port);
    await c2.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const r2 = await c2.response();
    assertEquals(r2.text, "part1-part2");
    assert(r2.headers.some(([n, v]) => n === "transfer-encoding" && v === "chunked"));
    c2.conn.close();
  } finally {
    await h.close();
  }
});

Deno.test("server: malformed requests get HAProxy's 400 and the connection closes", async () => {
  const h = serve(echo);
  try {
    for (
      const bad of [
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\n folded\r\n\r\n",
      ]
    ) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
      await c.write(enc.encode(bad));
      const r = await readAll(c);
      c.close();
      assert(r.startsWith("HTTP/1.1 400 Bad request\r\nContent-length: 90\r\n"), r);
      assertStringIncludes(r, "Connection: close\r\n");
    }
    assertEquals(h.bad.length, 4);
    assert(h.bad.every((b) => b.status === 400 && b.termination === "PR--"));
  } finally {
    await h.close();
  }
});

Deno.test("server: a new idle connection gets 408 after timeout http-request", async () => {
  const h = serve(echo, { httpRequestTimeout: 200, clientTimeout: 5000 });
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    const t0 = Date.now();
    const r = await readAll(c, 3000);
    const took = Date.now() - t0;
    c.close();
    assert(r.startsWith("HTTP/1.1 408 Request Time-out\r\n"), r);
    assert(took >= 180 && took < 1500, `408 after ${took} ms`);
    assertEquals(h.bad.map((b) => [b.status, b.termination, b.empty]), [[408, "cR--", true]]);
  } finally {
    await h.close();
  }
});

Deno.test("server: a kept-alive connection closes silently after timeout http-keep-alive", async () => {
  const h = serve(echo, { keepAliveTimeout: 200, clientTimeout: 5000 });
  const c = await RawClient.connect(h.port);
  try {
    await c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await c.response()).status, 200);
    const t0 = Date.now();
    assert(await c.waitClosed(), "closed without a response");
    const took = Date.now() - t0;
    assert(took >= 150 && took < 1500, `closed after ${took} ms`);
    assertEquals(h.bad.length, 0);
  } finally {
    c.conn.close();
    await h.close();
  }
});

Deno.test("server: an empty connection is reported as such; a partial head as CR--", async () => {
  const h = serve(echo);
  try {
    const c1 = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    c1.close();
    const c2 = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    await c2.write(enc.encode("GET / HT"));
    c2.close();
    for (let i = 0; i < 100 && h.bad.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const seen = h.bad.map((b) => `${b.status} ${b.termination} ${b.empty}`).sort();
    assertEquals(seen, ["400 CR-- false", "400 CR-- true"]);
  } finally {
    await h.close();
  }
});

Deno.test("server: the exchange's signal aborts when the client leaves mid-request", async () => {
  let aborted: () => void;
  const wasAborted = new Promise<void>((r) => aborted = r);
  const h = serve(async (ex) => {
    await new Promise<void>((resolve) => {
      ex.signal.addEventListener("abort", () => {
        aborted();
        resolve();
      });
    });
  });
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    await c.write(enc.encode("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      wasAborted,
      new Promise((_, rej) => timer = setTimeout(() => rej(new Error("no abort")), 2000)),
    ]);
    clearTimeout(timer);
  } finally {
    await h.close();
  }
});

Deno.test("server: HEAD-style bodiless answers keep their Content-Length; 100 Continue is sent", async () => {
  const h = serve(async (ex) => {
    if (ex.body) {
      let n = 0;
      for (let c; (c = await ex.body.read()) !== null;) n += c.length;
      await ex.sendWhole(200, "OK", "", enc.encode(`got ${n}`));
      return;
    }
    await ex.sendHead(200, "OK", "content-length: 1234\r\n", { kind: "none" });
    await ex.end();
  });
  const c = await RawClient.connect(h.port);
  try {
    await c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    const r = await c.response({ headRequest: true });
    assert(r.headers.some(([n, v]) => n === "content-length" && v === "1234"));
    await c.send("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    const cont = await c.response();
    assertEquals(cont.status, 100);
    await c.send("abc");
    assertEquals((await c.response()).text, "got 3");
  } finally {
    c.conn.close();
    await h.close();
  }
});

Deno.test("server: takeOver hands the socket and the bytes read past the head", async () => {
  const got = Promise.withResolvers<string>();
  const h = serve((ex) => {
    const { conn, buffered } = ex.takeOver();
    (async () => {
      await conn.write(enc.encode("HTTP/1.1 101 Switching Protocols\r\n\r\n"));
      let text = dec.decode(buffered);
      const buf = new Uint8Array(100);
      while (text.length < 10) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += dec.decode(buf.subarray(0, n));
      }
      conn.close();
      got.resolve(text);
    })();
    return Promise.resolve();
  });
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
    await c.write(enc.encode("GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n01234"));
    await new Promise((r) => setTimeout(r, 50));
    await c.write(enc.encode("56789"));
    assertEquals(await got.promise, "0123456789");
    c.close();
    assertEquals(h.server.connections, 0);
  } finally {
    await h.close();
  }
});

Deno.test("server: drain closes idle connections and lets a busy one finish", async () => {
  const release = Promise.withResolvers<void>();
  const h = serve(async (ex) => {
    if (ex.head.target === "/slow") await release.promise;
    await ex.sendWhole(200, "OK", "", enc.encode(ex.head.target));
  });
  const idle = await RawClient.connect(h.port);
  const busy = await RawClient.connect(h.port);
  try {
    await idle.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await idle.response()).text, "/fast");
    await busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 30));
    const drained = h.server.drain(2000);
    assert(await idle.waitClosed(), "the idle connection is closed at once");
    release.resolve();
    const r = await busy.response();
    assertEquals(r.text, "/slow");
    assert(r.headers.some(([n, v]) => n === "connection" && v === "close"));
    assert(await drained);
  } finally {
    idle.conn.close();
    busy.conn.close();
    await h.close();
  }
});
