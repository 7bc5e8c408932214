// Bodies both ways: chunked with trailers, gzip bytes, HEAD/204/304, 100-continue, large
// streamed bodies, close-delimited responses, keep-alive reuse of server connections.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { RawClient, rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";

Deno.test("chunked response with trailers: payload intact, trailers parsed", async () => {
  const be = new RawBackend(async (_r, c) => {
    await c.write(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n" +
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: done\r\n\r\n",
    );
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const res = await rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(res.text, "hello world");
    assert(!res.headers.some(([k]) => k === "trailer"));
    // The server connection is reusable after a complete chunked body.
    const res2 = await rawRequest(px.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(res2.text, "hello world");
    assertEquals(be.connections, 1);
    const logs = await px.waitLogs(2);
    assertEquals(logs.map((l) => l.termination), ["----", "----"]);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("endless trailers after a chunked body: cut at 128 lines (SD--), nothing hangs", async () => {
  const be = new RawBackend(async (_r, c): Promise<"close"> => {
    await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n");
    try {
      for (let i = 0; i < 1000; i++) await c.write(`X-T${i}: x\r\n`);
      // ...and never the final empty line: wait (bounded) until the proxy hangs up.
      const buf = new Uint8Array(16);
      const timer = setTimeout(() => c.close(), 8000);
      while ((await c.conn.read(buf).catch(() => null)) !== null) { /* drain */ }
      clearTimeout(timer);
    } catch { /* the proxy hung up */ }
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const client = await RawClient.connect(px.port);
  try {
    await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const [rec] = await px.waitLogs(1);
    // Cut at once as a broken body, not after the 5 s server timeout (sD--).
    assertEquals([rec.status, rec.termination], [200, "SD--"]);
  } finally {
    client.conn.close();
    await px.stop();
    await be.close();
  }
});

Deno.test("gzip body passes byte for byte with its content-encoding", async () => {
  const plain = new TextEncoder().encode("hello gzip world ".repeat(50));
  const gz = new Uint8Array(
    await new Response(new Blob([plain]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  const be = new RawBackend(async (_r, c) => {
    await c.write(
      `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`,
    );
    await c.write(gz);
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const res = await rawRequest(
      px.port,
      "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assertEquals(res.headers.find(([k]) => k === "content-encoding")?.[1], "gzip");
    assertEquals(res.body, gz);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("HEAD, 204 and 304 have no body; the connection stays usable", async () => {
  const be = new RawBackend(async (r, c) => {
    const target = r.head.split(" ")[1];
    if (r.head.startsWith("HEAD")) {
      await c.write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    } else if (target === "/204") await c.write("HTTP/1.1 204 No Content\r\n\r\n");
    else if (target === "/304") await c.write("HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n");
    else await c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const client = await RawClient.connect(px.port);
  try {
    await client.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    const h = await client.response({ headRequest: true });
    assertEquals(h.status, 200);
    assertEquals(h.headers.find(([k]) => k === "content-length")?.[1], "1234");
    await client.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals((await client.response()).status, 204);
    await client.send("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n");
    const r304 = await client.response();
    assertEquals(r304.status, 304);
    assertEquals(r304.headers.find(([k]) => k === "etag")?.[1], "x");
    await client.send("GET /end HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals((await client.response()).text, "ok");
    assertEquals(be.connections, 1);
  } finally {
    client.close();
    await px.stop();
    await be.close();
  }
});

Deno.test("100-continue: the server's interim answer is consumed, the body goes through", async () => {
  const be = new RawBackend(async (r, c) => {
    // The helper already read the body; answer 100 then the final response.
    await c.write("HTTP/1.1 100 Continue\r\n\r\n");
    await c.write(`HTTP/1.1 200 OK\r\nContent-Length: ${r.body.length}\r\n\r\n`);
    await c.write(r.body);
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const client = await RawClient.connect(px.port);
  try {
    await client.send(
      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    const interim = await client.response();
    assertEquals(interim.status, 100);
    await client.send("abcde");
    const res = await client.response();
    assertEquals(res.status, 200);
    assertEquals(res.text, "abcde");
    assert(be.received[0].head.includes("expect: 100-continue\r\n"));
  } finally {
    client.close();
    await px.stop();
    await be.close();
  }
});

Deno.test("chunked request body is re-framed chunked; content-length body kept as is", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    await rawRequest(
      px.port,
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert(be.received[0].head.includes("transfer-encoding: chunked\r\n"));
    assertEquals(new TextDecoder().decode(be.received[0].body), "abcde");
    await rawRequest(px.port, "POST /l HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz");
    assert(be.received[1].head.includes("content-length: 3\r\n"));
    assert(!be.received[1].head.includes("transfer-encoding"));
    assertEquals(new TextDecoder().decode(be.received[1].rawBody), "xyz");
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("large bodies stream both ways (8 MB up by length, 16 MB down chunked)", async () => {
  const UP = 8 * 1024 * 1024;
  const DOWN = 16 * 1024 * 1024;
  const be = new RawBackend(async (r, c) => {
    const sum = r.body.reduce((a, b) => (a + b) % 65521, 0);
    await c.write(
      `HTTP/1.1 200 OK\r\nX-Up: ${r.body.length}/${sum}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const block = new Uint8Array(65536).map((_, i) => i % 251);
    for (let sent = 0; sent < DOWN; sent += block.length) {
      await c.write(`${block.length.toString(16)}\r\n`);
      await c.write(block);
      await c.write("\r\n");
    }
    await c.write("0\r\n\r\n");
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const body = new Uint8Array(UP).map((_, i) => i % 253);
    const sum = body.reduce((a, b) => (a + b) % 65521, 0);
    const head = new TextEncoder().encode(
      `POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${UP}\r\n\r\n`,
    );
    const client = await RawClient.connect(px.port);
    try {
      const sending = (async () => {
        await client.send(head);
        await client.send(body);
      })();
      const res = await client.response();
      await sending;
      assertEquals(res.headers.find(([k]) => k === "x-up")?.[1], `${UP}/${sum}`);
      assertEquals(res.body.length, DOWN);
      for (let i = 0; i < DOWN; i += 65536 * 7 + 13) assertEquals(res.body[i], (i % 65536) % 251);
    } finally {
      client.close();
    }
  } finally {
    await px.stop();
    await be.close();
  }
});

// The reader reuses one array for the reads it makes straight from the socket: every byte must
// still arrive as sent, in order, whatever the server's write sizes (bytes depend on their
// position, so a stale or overwritten read would show).
for (const framing of ["length", "chunked", "close"] as const) {
  Deno.test(`large ${framing} download arrives byte for byte (uneven server writes)`, async () => {
    const SIZE = 6 * 1024 * 1024 + 12345;
    const expected = new Uint8Array(SIZE).map((_, i) => (i * 7 + (i >>> 13) * 31) & 255);
    const be = new RawBackend(async (_r, c): Promise<"close" | void> => {
      const headers = framing === "length"
        ? `Content-Length: ${SIZE}\r\n`
        : framing === "chunked"
        ? "Transfer-Encoding: chunked\r\n"
        : "Connection: close\r\n";
      await c.write(`HTTP/1.1 200 OK\r\n${headers}\r\n`);
      let seed = 12345;
      for (let at = 0; at < SIZE;) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const n = Math.min(SIZE - at, 1 + (seed % 150_000));
        const part = expected.subarray(at, at + n);
        if (framing === "chunked") await c.write(`${n.toString(16)}\r\n`);
        await c.write(part);
        if (framing === "chunked") await c.write("\r\n");
        at += n;
      }
      if (framing === "chunked") await c.write("0\r\n\r\n");
      if (framing === "close") return "close";
    });
    const px = await startTestProxy(simpleConfig({ s1: be.address }));
    const client = await RawClient.connect(px.port);
    try {
      await client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
      const res = await client.response();
      assertEquals(res.status, 200);
      assertEquals(res.body.length, SIZE);
      const firstBad = res.body.findIndex((b, i) => b !== expected[i]);
      assertEquals(firstBad, -1, `byte ${firstBad} differs`);
    } finally {
      client.close();
      await px.stop();
      await be.close();
    }
  });
}

Deno.test("close-delimited response: streamed to the client, server connection not reused", async () => {
  const be = new RawBackend(async (_r, c): Promise<"close"> => {
    await c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart1 ");
    await c.write("part2");
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const client = await RawClient.connect(px.port);
  try {
    for (let i = 0; i < 2; i++) {
      await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      const res = await client.response();
      assertEquals(res.text, "part1 part2");
    }
    assertEquals(be.connections, 2);
  } finally {
    client.close();
    await px.stop();
    await be.close();
  }
});
