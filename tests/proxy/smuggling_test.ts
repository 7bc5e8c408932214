// Request smuggling through the proxy (issue 17): whatever framing headers a client sends, the
// server receives exactly the requests the proxy parsed, each with the proxy's own framing line
// (Content-Length or Transfer-Encoding, written from the parsed framing), so a body is never read
// upstream as another request. What the server received is asserted byte for byte. Refused
// shapes get HAProxy's answer and nothing reaches the server.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { latin1, RawBackend, type RawHandler } from "../helpers/raw_backend.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy, type TestProxy } from "../helpers/proxy.ts";

/** One byte per character (a "\xa0" is the single byte 0xa0). */
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Answers 200 with "<target> <body length>" (Content-Length framed), keeping the connection. */
const answer: RawHandler = async (req, c) => {
  const text = `${req.head.split(" ")[1]} ${req.body.length}`;
  await c.write(`HTTP/1.1 200 OK\r\ncontent-length: ${text.length}\r\n\r\n${text}`);
};

const NEXT = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
const NEXT_UP = "GET /next HTTP/1.1\r\nhost: x\r\n\r\n";

interface Forwarded {
  name: string;
  /** What the client sends (latin-1). */
  send: string;
  /** The one request head the server must receive for it, and the body (de-chunked). */
  head: string;
  body: string;
  /** The client connection closes after the answer (TE + CL); else a next request follows. */
  closes?: boolean;
}

const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"; // 35 bytes

const FORWARDED: Forwarded[] = [
  {
    name: "the issue's payload: Connection names Content-Length",
    send: `POST /attack HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\n` +
      `Content-Length: 35\r\n\r\n${SMUGGLED}`,
    head: "POST /attack HTTP/1.1\r\nhost: x\r\ncontent-length: 35\r\n\r\n",
    body: SMUGGLED,
  },
  {
    name: "upper case token, Content-Length before Connection",
    send: `POST /attack HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n` +
      `CONNECTION: CONTENT-LENGTH\r\n\r\n${SMUGGLED}`,
    head: "POST /attack HTTP/1.1\r\nhost: x\r\ncontent-length: 35\r\n\r\n",
    body: SMUGGLED,
  },
  {
    name: "token in a list, with tabs and empty elements",
    send:
      `POST /attack HTTP/1.1\r\nHost: x\r\nConnection: keep-alive,,\tcontent-length\t, x-a\r\n` +
      `X-A: 1\r\nX-B: 2\r\nContent-Length: 35\r\n\r\n${SMUGGLED}`,
    head: "POST /attack HTTP/1.1\r\nhost: x\r\nx-b: 2\r\ncontent-length: 35\r\n\r\n",
    body: SMUGGLED,
  },
  {
    name: "repeated Connection headers",
    send: `POST /attack HTTP/1.1\r\nConnection: keep-alive\r\nHost: x\r\n` +
      `Connection: Content-Length\r\nConnection: Host\r\nContent-Length: 35\r\n\r\n${SMUGGLED}`,
    head: "POST /attack HTTP/1.1\r\nhost: x\r\ncontent-length: 35\r\n\r\n",
    body: SMUGGLED,
  },
  {
    name: "Connection: Host keeps Host",
    send: "GET /h HTTP/1.1\r\nConnection: Host\r\nHost: front.example\r\n\r\n",
    head: "GET /h HTTP/1.1\r\nhost: front.example\r\n\r\n",
    body: "",
  },
  {
    name: "Connection: Transfer-Encoding with a chunked body",
    send: "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
      "Connection: Transfer-Encoding\r\n\r\n23\r\n" + SMUGGLED + "\r\n0\r\n\r\n",
    head: "POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
    body: SMUGGLED,
  },
  {
    name: "Connection names every framing header and Host, chunked",
    send: "POST /c HTTP/1.1\r\nConnection: host, content-length, transfer-encoding\r\n" +
      "Host: x\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    head: "POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
    body: "hello",
  },
  {
    name: "Connection: close, content-length (the client connection closes, framing kept)",
    send: `POST /attack HTTP/1.1\r\nHost: x\r\nConnection: close, content-length\r\n` +
      `Content-Length: 35\r\n\r\n${SMUGGLED}`,
    head: "POST /attack HTTP/1.1\r\nhost: x\r\ncontent-length: 35\r\n\r\n",
    body: SMUGGLED,
    closes: true,
  },
  {
    name: "Content-Length: 0 named by Connection",
    send: "POST /z HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: 0\r\n\r\n",
    head: "POST /z HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
    body: "",
  },
  {
    name: "equal Content-Length lines and lists, leading zeros: one normalized line",
    send: "POST /l HTTP/1.1\r\nHost: x\r\nContent-Length: 005\r\nX-A: 1\r\n" +
      "Content-Length: 5, 5\r\nConnection: Content-Length\r\n\r\nhello",
    head: "POST /l HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nx-a: 1\r\n\r\n",
    body: "hello",
  },
  {
    name: "bare LF line ends",
    send: "POST /lf HTTP/1.1\nHost: x\nConnection: content-length\nContent-Length: 5\n\nhello",
    head: "POST /lf HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\n",
    body: "hello",
  },
  {
    name: "CL.TE: Transfer-Encoding wins, Content-Length dropped, the connection closes",
    send: "POST /clte HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n" +
      "\r\n0\r\n\r\nG",
    head: "POST /clte HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
    body: "",
    closes: true,
  },
  {
    name: "TE.CL: Transfer-Encoding wins, Content-Length dropped, the connection closes",
    send: "POST /tecl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n" +
      "Connection: Transfer-Encoding\r\n\r\n23\r\n" + SMUGGLED + "\r\n0\r\n\r\n",
    head: "POST /tecl HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
    body: SMUGGLED,
    closes: true,
  },
];

interface Refused {
  name: string;
  send: string;
  status: 400 | 422;
}

const REFUSED: Refused[] = [
  ...[
    ["identity before chunked", "Transfer-Encoding: identity, chunked"],
    ["gzip before chunked", "Transfer-Encoding: gzip, chunked"],
    ["another coding on an earlier line", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked"],
    ["an empty element before chunked", "Transfer-Encoding: , chunked"],
  ].map(([name, te]): Refused => ({
    name,
    send: `POST /r HTTP/1.1\r\nHost: x\r\n${te}\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    status: 422,
  })),
  ...[
    ["NBSP before chunked", "Transfer-Encoding:\xa0chunked"],
    ["NBSP after chunked", "Transfer-Encoding: chunked\xa0"],
    ["vertical tab before chunked", "Transfer-Encoding:\x0bchunked"],
    ["form feed after chunked", "Transfer-Encoding: chunked\x0c"],
    ["obs-fold in Transfer-Encoding", "Transfer-Encoding:\r\n chunked"],
    ["obs-fold in Connection", "Connection: keep-alive\r\n\tcontent-length\r\nContent-Length: 35"],
    ["obs-fold in Content-Length", "Content-Length:\r\n 35"],
    ["space before the colon", "Transfer-Encoding : chunked"],
    ["chunked then another coding", "Transfer-Encoding: chunked, identity"],
    ["chunked twice on two lines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"],
    ["a parameter on chunked", "Transfer-Encoding: chunked;q=1"],
    ["identity alone", "Transfer-Encoding: identity"],
    ["an empty Transfer-Encoding", "Transfer-Encoding:"],
    ["NBSP in Content-Length", "Content-Length:\xa035"],
    ["vertical tab in Content-Length", "Content-Length: 35\x0b"],
    ["a signed Content-Length", "Content-Length: +35"],
    ["differing Content-Lengths", "Content-Length: 35\r\nContent-Length: 36"],
    ["differing Content-Lengths in a list", "Content-Length: 35, 0"],
    ["CR alone in a line", "Content-Length: 35\rX-A: 1"],
    ["NUL in a value", "Connection: content-length\x00\r\nContent-Length: 35"],
  ].map(([name, lines]): Refused => ({
    name,
    send: `POST /r HTTP/1.1\r\nHost: x\r\n${lines}\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    status: 400,
  })),
  {
    name: "Transfer-Encoding in HTTP/1.0",
    send: `POST /r HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    status: 400,
  },
  {
    name: "malformed chunk size arriving with the head",
    send: `POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${SMUGGLED}`,
    status: 400,
  },
  {
    name: "chunk data longer than its size, arriving with the head",
    send: "POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `3\r\nabcdef\r\n0\r\n\r\n${SMUGGLED}`,
    status: 400,
  },
  {
    name: "malformed chunk after a good one and a 0-size chunk with a bad extension",
    send: "POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "1\r\na\r\n0;\x01\r\n\r\n",
    status: 400,
  },
];

async function withProxy(
  options: string,
  fn: (px: TestProxy, be: RawBackend) => Promise<void>,
): Promise<void> {
  const be = new RawBackend(answer);
  const px = await startTestProxy(simpleConfig({ s1: be.address }, { defaults: options }));
  try {
    await fn(px, be);
  } finally {
    await px.stop();
    await be.close();
  }
}

for (const mode of ["keep-alive", "http-server-close"]) {
  const options = mode === "keep-alive" ? "" : "  options: { http-server-close: true }";
  const closeLine = mode === "keep-alive" ? "" : "connection: close\r\n";
  /** The head as it goes up in this mode (our connection line last). */
  const up = (head: string) => head.slice(0, -2) + closeLine + "\r\n";

  Deno.test(`smuggling (${mode}): the server gets one request, framed by the proxy`, async () => {
    await withProxy(options, async (px, be) => {
      for (const c of FORWARDED) {
        const from = be.received.length;
        const client = await RawClient.connect(px.port);
        try {
          await client.send(bytes(c.send + (c.closes ? "" : NEXT)));
          const first = await client.response();
          assertEquals(first.status, 200, c.name);
          const target = c.head.split(" ")[1];
          assertEquals(first.text, `${target} ${c.body.length}`, c.name);
          if (c.closes) assert(await client.waitClosed(), c.name);
          else assertEquals((await client.response()).text, "/next 0", c.name);
        } finally {
          client.close();
        }
        const got = be.received.slice(from);
        const want = c.closes ? [up(c.head)] : [up(c.head), up(NEXT_UP)];
        assertEquals(got.map((r) => r.head), want, c.name);
        assertEquals(latin1(got[0].body), c.body, c.name);
        if (c.head.includes("content-length")) assertEquals(latin1(got[0].rawBody), c.body);
      }
    });
  });

  Deno.test(`smuggling (${mode}): refused shapes never reach the server`, async () => {
    await withProxy(options, async (px, be) => {
      for (const c of REFUSED) {
        const client = await RawClient.connect(px.port);
        try {
          await client.send(bytes(c.send));
          const res = await client.response();
          assertEquals(res.status, c.status, c.name);
          assert(await client.waitClosed(), c.name);
        } finally {
          client.close();
        }
      }
      assertEquals([be.connections, be.received.length], [0, 0]);
      const logs = await px.waitLogs(REFUSED.length);
      assertEquals(logs.map((r) => r.status), REFUSED.map((c) => c.status));
    });
  });
}
