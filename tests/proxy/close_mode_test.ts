// Close modes (issue 17): with http-server-close (with or without http-pretend-keepalive) and
// httpclose, each server connection ends with its response, even when the server offers to keep
// it (the test backend never closes on its own): counted as the backend's accepted connections
// still open. Keep-alive mode still reuses one connection.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { RawBackend, type RawHandler } from "../helpers/raw_backend.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";

const N = 20;

/** Keep-alive answers, Content-Length and chunked in turn; the connection stays open. */
const answer: RawHandler = async (req, c) => {
  const target = req.head.split(" ")[1];
  if (Number(target.slice(1)) % 2 === 0) {
    await c.write(`HTTP/1.1 200 OK\r\ncontent-length: ${target.length}\r\n\r\n${target}`);
  } else {
    const size = target.length.toString(16);
    await c.write(
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${size}\r\n${target}\r\n0\r\n\r\n`,
    );
  }
};

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

const MODES: [string, string, boolean][] = [
  ["http-server-close", "http-server-close: true", false],
  [
    "http-server-close + http-pretend-keepalive",
    "http-server-close: true, http-pretend-keepalive: true",
    false,
  ],
  ["httpclose", "httpclose: true", true],
  ["httpclose + http-pretend-keepalive", "httpclose: true, http-pretend-keepalive: true", true],
];

for (const [name, options, clientCloses] of MODES) {
  Deno.test(`${name}: no server connection outlives its response`, async () => {
    const be = new RawBackend(answer);
    const px = await startTestProxy(
      simpleConfig({ s1: be.address }, { defaults: `  options: { ${options} }` }),
    );
    let c: RawClient | null = null;
    try {
      for (let i = 0; i < N; i++) {
        const client: RawClient = c ??= await RawClient.connect(px.port);
        await client.send(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const res = await client.response();
        assertEquals([res.status, res.text], [200, `/${i}`]);
        if (clientCloses) {
          assertEquals(await client.waitClosed(), true);
          client.close();
          c = null;
        }
        // The server side closes as the response ends (well before the pool's 5 s idle timeout).
        await until(() => be.open === 0, 2000);
        assertEquals(be.open, 0, `request ${i}`);
      }
      assertEquals(be.connections, N);
    } finally {
      c?.close();
      await px.stop();
      await be.close();
    }
  });
}

Deno.test("keep-alive mode: one server connection serves every request, and stays open", async () => {
  const be = new RawBackend(answer);
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const c = await RawClient.connect(px.port);
  try {
    for (let i = 0; i < N; i++) {
      await c.send(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const res = await c.response();
      assertEquals([res.status, res.text], [200, `/${i}`]);
    }
    assertEquals([be.connections, be.open], [1, 1]);
    assertEquals(new Set(be.received.map((r) => r.connection)).size, 1);
  } finally {
    c.close();
    await px.stop();
    await be.close();
  }
});
