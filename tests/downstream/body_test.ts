// The request body reader of our client-side server, on real loopback sockets: Content-Length and
// chunked bodies arriving whole, in pieces and byte by byte; nothing consumed past the end of the
// body (the next pipelined request stays buffered); 100 Continue; `timeout client`; truncated and
// malformed bodies.

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { BufferedConn } from "../../src/net/buffered.ts";
import { armedWatchdogs } from "../../src/net/watchdog.ts";
import { parseRequestHead, type RequestHead } from "../../src/downstream/head.ts";
import { RequestBodyError, RequestBodyReader } from "../../src/downstream/body.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Pair {
  /** The client end (the test writes the request there). */
  client: Deno.TcpConn;
  /** The server end, buffered like the server does it. */
  sock: BufferedConn;
  close(): void;
}

async function pair(): Promise<Pair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [client, server] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    client.setNoDelay(true);
    const sock = new BufferedConn(server);
    return {
      client,
      sock,
      close() {
        try {
          client.close();
        } catch { /* already closed */ }
        sock.close();
      },
    };
  } finally {
    listener.close();
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array | string): Promise<void> {
  const b = typeof bytes === "string" ? enc.encode(bytes) : bytes;
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

/** Reads and consumes one request head from `sock`, as the server does. */
async function readHead(sock: BufferedConn): Promise<RequestHead> {
  for (;;) {
    const r = parseRequestHead(sock.buf, sock.start, sock.end);
    if (r !== null) {
      sock.start += r.consumed;
      return r.head;
    }
    if ((await sock.fill()) === 0) throw new Error("EOF before the head");
  }
}

/** Reads the whole body (copying each chunk: they are views valid until the next read). */
async function drain(reader: RequestBodyReader): Promise<{ text: string; chunks: number }> {
  const parts: Uint8Array[] = [];
  for (let chunk; (chunk = await reader.read()) !== null;) {
    assert(chunk.length > 0, "empty chunk");
    parts.push(chunk.slice());
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return { text: dec.decode(all), chunks: parts.length };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `s` one byte at a time, yielding to the event loop in between. */
async function trickle(conn: Deno.TcpConn, s: string): Promise<void> {
  const b = enc.encode(s);
  for (let i = 0; i < b.length; i++) {
    await writeAll(conn, b.subarray(i, i + 1));
    await delay(1);
  }
}

const NEXT = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";

/** After the body, the next pipelined request must be readable from the same buffer. */
async function assertNextRequest(sock: BufferedConn): Promise<void> {
  const next = await readHead(sock);
  assertEquals(next.target, "/next");
  assertEquals(sock.buffered, 0);
}

function isBodyError(kind: RequestBodyError["kind"], text: string) {
  return (e: unknown) => {
    assert(e instanceof RequestBodyError, `not a RequestBodyError: ${e}`);
    assertEquals(e.kind, kind, e.message);
    assert(e.message.includes(text), `"${e.message}" lacks "${text}"`);
    return true;
  };
}

Deno.test("RequestBodyReader: Content-Length body buffered with the head, pipelined request kept", async () => {
  const p = await pair();
  try {
    await writeAll(p.client, "POST /a HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world" + NEXT);
    // Make sure everything is buffered before the head is parsed.
    while (p.sock.buffered < 40 + 11 + NEXT.length) await p.sock.fill();
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 1000);
    const first = (await reader.read())!;
    assertEquals(first.buffer, p.sock.buf.buffer, "a view into the connection's buffer");
    assertEquals(dec.decode(first), "hello world");
    assertEquals([reader.bytes, reader.ended, reader.complete], [11, true, true]);
    assertEquals(await reader.read(), null);
    assertEquals(reader.continueSent, false);
    assertEquals(dec.decode(p.sock.buf.subarray(p.sock.start, p.sock.end)), NEXT);
    await assertNextRequest(p.sock);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: Content-Length body in pieces, nothing read past its end", async () => {
  const p = await pair();
  try {
    await writeAll(p.client, "PUT /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n01");
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 1000);
    const writer = (async () => {
      await delay(20);
      await writeAll(p.client, "234");
      await delay(20);
      await writeAll(p.client, "56789" + NEXT); // the body's end and the next request together
    })();
    const { text, chunks } = await drain(reader);
    await writer;
    assertEquals(text, "0123456789");
    assert(chunks >= 3, `chunks: ${chunks}`);
    assertEquals([reader.bytes, reader.complete, reader.ended], [10, true, true]);
    await assertNextRequest(p.sock);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: a large upload reuses one buffer", async () => {
  const p = await pair();
  const size = 4 * 1024 * 1024;
  try {
    await writeAll(p.client, `POST /up HTTP/1.1\r\nContent-Length: ${size}\r\n\r\n`);
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 5000);
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 7) & 255;
    const writer = writeAll(p.client, payload);
    const buffers = new Set<ArrayBufferLike>();
    let off = 0;
    let reads = 0;
    for (let chunk; (chunk = await reader.read()) !== null;) {
      buffers.add(chunk.buffer);
      for (let i = 0; i < chunk.length; i += 4093) {
        if (chunk[i] !== payload[off + i]) throw new Error(`byte ${off + i} differs`);
      }
      off += chunk.length;
      reads++;
    }
    await writer;
    assertEquals([off, reader.bytes, reader.complete], [size, size, true]);
    assert(reads > 10, `reads: ${reads}`);
    // The connection's buffer (bytes that came with the head) and the reader's own buffer.
    assert(buffers.size <= 2, `${buffers.size} buffers for ${reads} reads`);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: chunked body buffered whole, extensions and trailers", async () => {
  const p = await pair();
  try {
    const body = '5\r\nhello\r\n1;ext=1;y="q"\r\n \r\nA \t; e\r\n0123456789\r\n' +
      "0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n";
    const req = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body + NEXT;
    await writeAll(p.client, req);
    while (p.sock.buffered < req.length) await p.sock.fill();
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 1000);
    const { text, chunks } = await drain(reader);
    assertEquals([text, chunks], ["hello 0123456789", 3]);
    assertEquals([reader.bytes, reader.complete, reader.ended], [16, true, true]);
    assertEquals(await reader.read(), null);
    await assertNextRequest(p.sock);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: chunked body byte by byte, bare LF line endings", async () => {
  const p = await pair();
  try {
    await writeAll(p.client, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 2000);
    const body = "3\r\nabc\r\n10\r\n0123456789abcdef\r\n2\nxy\n0\r\nT: 1\n\r\n";
    const writer = trickle(p.client, body + NEXT);
    const { text } = await drain(reader);
    await writer;
    assertEquals(text, "abc0123456789abcdefxy");
    assertEquals([reader.bytes, reader.complete], [21, true]);
    await assertNextRequest(p.sock);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: Content-Length body byte by byte", async () => {
  const p = await pair();
  try {
    await writeAll(p.client, "POST /c HTTP/1.1\r\nContent-Length: 6\r\n\r\n");
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 2000);
    const writer = trickle(p.client, "abcdef" + NEXT);
    const { text } = await drain(reader);
    await writer;
    assertEquals([text, reader.complete], ["abcdef", true]);
    await assertNextRequest(p.sock);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: Expect: 100-continue", async () => {
  const p = await pair();
  try {
    await writeAll(
      p.client,
      "POST /e HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    );
    const head = await readHead(p.sock);
    assert(head.expectContinue);
    const reader = new RequestBodyReader(p.sock, head, 2000);
    const client = (async () => {
      const buf = new Uint8Array(100);
      let got = "";
      while (!got.endsWith("\r\n\r\n")) {
        const n = await p.client.read(buf);
        if (n === null) throw new Error("EOF");
        got += dec.decode(buf.subarray(0, n));
      }
      await writeAll(p.client, "data");
      return got;
    })();
    const { text } = await drain(reader);
    assertEquals(await client, "HTTP/1.1 100 Continue\r\n\r\n");
    assertEquals([text, reader.continueSent, reader.complete], ["data", true, true]);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: no 100 Continue when the body is already arriving", async () => {
  const p = await pair();
  try {
    const req = "POST /e HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\ndata";
    await writeAll(p.client, req);
    while (p.sock.buffered < req.length) await p.sock.fill();
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 2000);
    assertEquals((await drain(reader)).text, "data");
    assertEquals(reader.continueSent, false);
    // Nothing was written to the client: it sees EOF when the server end closes.
    p.sock.close();
    assertEquals(await p.client.read(new Uint8Array(10)), null);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: timeout client while waiting for the body", async () => {
  for (const te of ["Content-Length: 10", "Transfer-Encoding: chunked"]) {
    const p = await pair();
    try {
      await writeAll(p.client, `POST /t HTTP/1.1\r\n${te}\r\n\r\n`);
      const head = await readHead(p.sock);
      const reader = new RequestBodyReader(p.sock, head, 100);
      const t0 = performance.now();
      await rejects(reader.read(), isBodyError("timeout", "client timeout"));
      const elapsed = performance.now() - t0;
      assert(elapsed >= 95 && elapsed < 1000, `elapsed ${elapsed}`);
      assertEquals([reader.timedOut, reader.complete], [true, false]);
      assertEquals(armedWatchdogs(), 0);
      // Later reads fail the same way.
      await rejects(reader.read(), isBodyError("timeout", "client timeout"));
    } finally {
      p.close();
    }
  }
});

Deno.test("RequestBodyReader: activity keeps the timeout away", async () => {
  const p = await pair();
  try {
    await writeAll(p.client, "POST /t HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 150);
    const writer = (async () => {
      for (const c of "abcde") {
        await delay(60);
        await writeAll(p.client, c);
      }
    })();
    const { text } = await drain(reader); // 300 ms in all, never 150 ms silent
    await writer;
    assertEquals([text, reader.timedOut, reader.complete], ["abcde", false, true]);
    assertEquals(armedWatchdogs(), 0);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: client closing before the end", async () => {
  const cases: [string, string, string][] = [
    ["Content-Length: 10", "01234", "5 of 10 bytes received"],
    ["Transfer-Encoding: chunked", "5\r\nabcde\r\n3\r\nab", "mid-body"],
    ["Transfer-Encoding: chunked", "5\r\nabcde\r\n", "mid-body"],
    ["Transfer-Encoding: chunked", "5\r\nabcde\r\n0\r\nTrailer: x\r\n", "mid-body"],
  ];
  for (const [framing, sent, text] of cases) {
    const p = await pair();
    try {
      await writeAll(p.client, `POST /t HTTP/1.1\r\n${framing}\r\n\r\n`);
      const head = await readHead(p.sock);
      const reader = new RequestBodyReader(p.sock, head, 2000);
      await writeAll(p.client, sent);
      p.client.close();
      await rejects(drain(reader), isBodyError("closed", text));
      assertEquals([reader.complete, reader.ended], [false, false]);
    } finally {
      p.close();
    }
  }
});

Deno.test("RequestBodyReader: malformed chunked bodies", async () => {
  const cases: [string, string][] = [
    ["xyz\r\n", "no hex digits"],
    ["\r\n", "no hex digits"],
    ["-5\r\n", "no hex digits"],
    ["1000000000000000\r\n", "more than 15 hex digits"],
    ["5 x\r\nhello\r\n", "invalid character 0x78 in chunk size"],
    ["5\rx\r\nhello\r\n", "invalid character 0x0d in chunk size"],
    ["5;a\0b\r\nhello\r\n", "invalid character 0x00 in chunk extension"],
    ["5\r\nhelloXX\r\n", "chunk data not followed by CRLF"],
    ["5\r\nhello\rX", "chunk data not followed by CRLF"],
    ["1;" + "e".repeat(5000) + "\r\n", "chunk-size line longer than 4096 bytes"],
    ["0\r\n" + "T: 1\r\n".repeat(129) + "\r\n", "more than 128 trailer lines"],
    ["0\r\nT: " + "x".repeat(9000) + "\r\n\r\n", "trailer line longer than 8192 bytes"],
  ];
  for (const [body, text] of cases) {
    const p = await pair();
    try {
      await writeAll(p.client, "POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
      const head = await readHead(p.sock);
      const reader = new RequestBodyReader(p.sock, head, 2000);
      const writer = writeAll(p.client, body);
      await rejects(drain(reader), isBodyError("malformed", text), JSON.stringify(body));
      await writer;
      assertEquals(reader.complete, false);
    } finally {
      p.close();
    }
  }
});

Deno.test("RequestBodyReader: 128 trailer lines are fine", async () => {
  const p = await pair();
  try {
    await writeAll(p.client, "POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 2000);
    await writeAll(p.client, "1\r\nz\r\n0\r\n" + "T: 1\r\n".repeat(128) + "\r\n" + NEXT);
    assertEquals((await drain(reader)).text, "z");
    assert(reader.complete);
    await assertNextRequest(p.sock);
  } finally {
    p.close();
  }
});

Deno.test("RequestBodyReader: cancel, no body, Content-Length 0", async () => {
  const p = await pair();
  try {
    await writeAll(
      p.client,
      "GET /n HTTP/1.1\r\n\r\nPOST /z HTTP/1.1\r\nContent-Length: 0\r\n\r\n" +
        "POST /c HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
    );
    for (const target of ["/n", "/z"]) {
      const head = await readHead(p.sock);
      assertEquals([head.target, head.bodyKind], [target, "none"]);
      const none = new RequestBodyReader(p.sock, head, 1000);
      assertEquals([none.complete, none.ended], [true, true]);
      assertEquals(await none.read(), null);
    }
    const head = await readHead(p.sock);
    const reader = new RequestBodyReader(p.sock, head, 1000);
    while (p.sock.buffered < 2) await p.sock.fill();
    assertEquals(dec.decode((await reader.read())!), "ab");
    reader.cancel();
    assertEquals([reader.complete, reader.ended, reader.bytes], [false, false, 2]);
    await rejects(reader.read(), isBodyError("cancelled", "cancelled"));
    assertEquals(armedWatchdogs(), 0);
  } finally {
    p.close();
  }
});
