// Error answers with HAProxy's bodies, timeouts, retries, redispatch, client disconnects.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { closedPort, echoHead, named, RawBackend } from "../helpers/raw_backend.ts";
import { RawClient, rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";
import type { Connector } from "../../src/upstream/conn.ts";

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

Deno.test("502 for garbage (PH--) and for a reset after the request (SH--); connection stays open", async () => {
  const be = new RawBackend(async (r, c): Promise<"close"> => {
    if (r.head.startsWith("GET /garbage")) await c.write("NOT HTTP AT ALL\r\n\r\n");
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const client = await RawClient.connect(px.port);
  try {
    await client.send("GET /garbage HTTP/1.1\r\nHost: a\r\n\r\n");
    const r1 = await client.response();
    assertEquals(r1.status, 502);
    assertEquals(
      r1.text,
      "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
    );
    assertEquals(r1.headers.find(([k]) => k === "cache-control")?.[1], "no-cache");
    // Same client connection, next request: closed without answer -> 502 SH--, never retried.
    await client.send("GET /rst HTTP/1.1\r\nHost: a\r\n\r\n");
    const r2 = await client.response();
    assertEquals(r2.status, 502);
    const logs = await px.waitLogs(2);
    assertEquals(logs.map((l) => [l.status, l.termination, l.retries]), [
      [502, "PH--", 0],
      [502, "SH--", 0],
    ]);
    assertEquals(be.received.filter((r) => r.head.startsWith("GET /rst")).length, 1);
  } finally {
    client.close();
    await px.stop();
    await be.close();
  }
});

Deno.test("503 when the backend has no server: NOSRV, SC--", async () => {
  const px = await startTestProxy(simpleConfig({ s1: `127.0.0.1:${closedPort()}` }, {
    backend: "    retries: 0",
  }));
  try {
    // Put the only server in MAINT: no usable server at all.
    px.runtime.state.servers.get("b/s1")!.admin = "MAINT";
    const res = await rawRequest(px.port, GET);
    assertEquals(res.status, 503);
    assertEquals(
      res.text,
      "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
    );
    const [rec] = await px.waitLogs(1);
    assertEquals([rec.server, rec.termination, rec.tw, rec.tc], [null, "SC--", -1, -1]);
  } finally {
    await px.stop();
  }
});

Deno.test("refused: retries 2 -> 3 attempts with pauses, then 503 SC--", async () => {
  const px = await startTestProxy(simpleConfig({ s1: `127.0.0.1:${closedPort()}` }, {
    defaults: "  retries: 2",
    timeouts: "{ connect: 200ms, client: 5s, server: 5s }",
  }));
  try {
    const t = performance.now();
    const res = await rawRequest(px.port, GET);
    const took = performance.now() - t;
    assertEquals(res.status, 503);
    // Two pauses of min(connect 200 ms, 1 s).
    assert(took >= 380 && took < 3000, `took ${took} ms`);
    const [rec] = await px.waitLogs(1);
    assertEquals([rec.termination, rec.retries, rec.redispatched], ["SC--", 2, false]);
    assert(rec.tw >= 380, `tw ${rec.tw}`);
    const c = px.runtime.state.servers.get("b/s1")!.counters;
    assertEquals([c.connectErrors, c.retries], [3, 2]);
  } finally {
    await px.stop();
  }
});

Deno.test("a client leaving while its server connect hangs cancels the connect, CC--", async () => {
  let attempts = 0;
  let cancelled = 0;
  const connector: Connector = (_addr, signal) => {
    attempts++;
    return new Promise((_resolve, reject) => {
      signal.addEventListener("abort", () => {
        cancelled++;
        reject(signal.reason);
      }, { once: true });
    });
  };
  const px = await startTestProxy(
    simpleConfig({ s1: "127.0.0.1:9" }, { timeouts: "{ connect: 5s, client: 5s, server: 5s }" }),
    { connector },
  );
  try {
    const c = await RawClient.connect(px.port);
    await c.send(GET);
    for (let i = 0; i < 200 && attempts === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(attempts, 1);
    c.close();
    const [rec] = await px.waitLogs(1, 2000); // well before the 5 s connect timeout
    assertEquals([rec.termination, attempts, cancelled], ["CC--", 1, 1]);
  } finally {
    await px.stop();
  }
});

Deno.test("connect timeout: no pause between attempts, 503 sC--", async () => {
  // A black-holed server: the connect never completes until aborted by `timeout connect`.
  let attempts = 0;
  const connector: Connector = (_addr, signal) => {
    attempts++;
    return new Promise((_resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  };
  const px = await startTestProxy(
    simpleConfig({ s1: "127.0.0.1:9" }, {
      defaults: "  retries: 2",
      timeouts: "{ connect: 150ms, client: 5s, server: 5s }",
    }),
    { connector },
  );
  try {
    const t = performance.now();
    const res = await rawRequest(px.port, GET);
    const took = performance.now() - t;
    assertEquals(res.status, 503);
    assertEquals(attempts, 3);
    assert(took >= 430 && took < 2000, `took ${took} ms`);
    const [rec] = await px.waitLogs(1);
    assertEquals([rec.termination, rec.retries, rec.tw, rec.tc], ["sC--", 2, 0, -1]);
  } finally {
    await px.stop();
  }
});

Deno.test("connects that succeeded leave nothing armed: a later hanging connect still times out (sC--), a later client leaving still cancels (CC--)", async () => {
  const be = new RawBackend(named("up"));
  let attempts = 0;
  let hang = false;
  const signals = new Set<AbortSignal>();
  const connector: Connector = (addr, signal) => {
    attempts++;
    signals.add(signal);
    if (!hang) return Deno.connect({ hostname: addr.hostname, port: addr.port, signal });
    return new Promise((_resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  };
  const px = await startTestProxy(
    simpleConfig({ s1: be.address }, {
      defaults: "  retries: 0\n  options: { http-server-close: true }",
      timeouts: "{ connect: 150ms, client: 5s, server: 5s }",
    }),
    { connector },
  );
  try {
    // Server-close: one connect per request, each settles without an abort.
    for (let i = 0; i < 5; i++) assertEquals((await rawRequest(px.port, GET)).status, 200);
    assertEquals(attempts, 5);
    // (The cancel state of a settled connect is handed to the next one.)
    assert(signals.size < 5, `${signals.size} signals for 5 connects`);
    hang = true;
    const t = performance.now();
    const res = await rawRequest(px.port, GET);
    assertEquals(res.status, 503);
    assert(performance.now() - t < 2000);
    const c = await RawClient.connect(px.port);
    await c.send(GET);
    for (let i = 0; i < 200 && attempts < 7; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(attempts, 7);
    c.close();
    const logs = await px.waitLogs(7, 2000); // well before the connect timeout could answer
    assertEquals(logs.slice(5).map((l) => l.termination), ["sC--", "CC--"]);
    assertEquals(logs.slice(0, 5).map((l) => l.termination), Array(5).fill("----"));
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("redispatch: a refused server is retried at once on the other one (+1)", async () => {
  const be = new RawBackend(named("alive"));
  const px = await startTestProxy(
    simpleConfig({ dead: `127.0.0.1:${closedPort()}`, alive: be.address }, {
      defaults: "  options: { redispatch: true }",
    }),
  );
  try {
    for (let i = 0; i < 4; i++) {
      const res = await rawRequest(px.port, `GET /r${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      assertEquals(res.status, 200);
      assertEquals(res.text, `alive /r${i}`);
    }
    const logs = await px.waitLogs(4);
    assert(logs.some((l) => l.redispatched && l.retries === 1 && l.tw === 0), JSON.stringify(logs));
    assert(logs.every((l) => l.server === "alive"));
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("504 after timeout server (sH--); the request was sent once, never retried", async () => {
  const be = new RawBackend(async () => {
    await new Promise((r) => setTimeout(r, 800));
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }, {
    timeouts: "{ connect: 1s, client: 5s, server: 200ms }",
  }));
  try {
    const t = performance.now();
    const res = await rawRequest(px.port, GET);
    const took = performance.now() - t;
    assertEquals(res.status, 504);
    assertEquals(
      res.text,
      "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
    );
    assert(took >= 190 && took < 1500, `took ${took}`);
    const [rec] = await px.waitLogs(1);
    assertEquals([rec.termination, rec.tres], ["sH--", -1]);
    assertEquals(be.received.length, 1);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("server stalls mid-body: sD-- after timeout server; server closes mid-body: SD--", async () => {
  const be = new RawBackend(async (r, c): Promise<"close" | void> => {
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
    if (r.head.startsWith("GET /stall")) await new Promise((res) => setTimeout(res, 700));
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }, {
    timeouts: "{ connect: 1s, client: 5s, server: 200ms }",
  }));
  try {
    for (const path of ["/stall", "/close"]) {
      const c = await RawClient.connect(px.port);
      await c.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      await c.response().then(() => assert(false, "body must not complete"), () => {});
      c.close();
    }
    const logs = await px.waitLogs(2);
    assertEquals(logs.map((l) => [l.status, l.termination]), [[200, "sD--"], [200, "SD--"]]);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("client disconnects mid-response: server connection closed, CD--", async () => {
  let closedByProxy!: () => void;
  const serverSawClose = new Promise<void>((r) => closedByProxy = r);
  const be = new RawBackend(async (_r, c) => {
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
    const block = new Uint8Array(65536);
    try {
      for (let i = 0; i < 1600; i++) await c.write(block);
    } catch {
      closedByProxy();
    }
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const c = await RawClient.connect(px.port);
    await c.send(GET);
    const buf = new Uint8Array(65536);
    let got = 0;
    while (got < 1_000_000) got += (await c.conn.read(buf)) ?? 0;
    c.close();
    await serverSawClose;
    const [rec] = await px.waitLogs(1);
    assertEquals(rec.termination, "CD--");
    assertEquals(px.runtime.state.servers.get("b/s1")!.counters.current, 0);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("client disconnects while the server thinks: server connection closed", async () => {
  let release!: () => void;
  const gone = new Promise<void>((r) => release = r);
  const be = new RawBackend(async (_r, c) => {
    const buf = new Uint8Array(16);
    // The proxy closes its side when the client goes: read() returns null.
    await c.conn.read(buf).catch(() => null);
    release();
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const c = await RawClient.connect(px.port);
    await c.send(GET);
    while (be.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    c.close();
    await gone;
    const [rec] = await px.waitLogs(1);
    assertEquals(rec.termination, "CH--");
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("client sends part of its body then goes silent: 408 after timeout client", async () => {
  const be = new RawBackend(async () => {});
  be.readBody = false;
  const px = await startTestProxy(simpleConfig({ s1: be.address }, {
    timeouts: "{ connect: 1s, client: 200ms, server: 5s }",
  }));
  try {
    const c = await RawClient.connect(px.port);
    await c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    const res = await c.response();
    assertEquals(res.status, 408);
    c.close();
    const [rec] = await px.waitLogs(1);
    assertEquals(rec.termination, "cD--");
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("four requests on one kept-alive client connection are balanced over two servers", async () => {
  const a = new RawBackend(named("A"));
  const b = new RawBackend(named("B"));
  const px = await startTestProxy(simpleConfig({ s1: a.address, s2: b.address }, {
    defaults: "  options: { http-server-close: true }",
  }));
  const c = await RawClient.connect(px.port);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await c.send(GET);
      seen.push((await c.response()).text.split(" ")[0]);
    }
    assertEquals(seen, ["A", "B", "A", "B"]);
    const logs = await px.waitLogs(4);
    assertEquals(new Set(logs.map((l) => l.clientPort)).size, 1);
    assertEquals(a.connections + b.connections, 4);
  } finally {
    c.close();
    await px.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("maxconn: requests beyond the limit wait for a slot, none dropped", async () => {
  let inflight = 0;
  let peak = 0;
  const be = new RawBackend(async (_r, c) => {
    inflight++;
    peak = Math.max(peak, inflight);
    await new Promise((r) => setTimeout(r, 50));
    inflight--;
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }, {
    frontend: "    maxconn: 2",
  }));
  try {
    const all = await Promise.all(
      Array.from({ length: 6 }, () => rawRequest(px.port, GET)),
    );
    assertEquals(all.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assertEquals(peak, 2);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("stale pooled connection: the request is replayed once on a fresh connection", async () => {
  const be = new RawBackend(async (_r, c): Promise<"close"> => {
    // Announces keep-alive, then closes anyway right after answering.
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    await new Promise((r) => setTimeout(r, 20));
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(
        px.port,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx",
      );
      assertEquals(res.status, 200);
      await new Promise((r) => setTimeout(r, 40));
    }
    assertEquals(be.received.length, 3);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("pooled connection closed mid-upload: the retry sends the whole body once", async () => {
  // A backend that answers the first request keep-alive, then closes the pooled connection
  // after the head of the second one (mid-upload); later connections read whole requests.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const bodies: string[] = [];
  const dec = new TextDecoder();
  const serve = async () => {
    let n = 0;
    for await (const conn of listener) {
      const index = n++;
      (async () => {
        let buf = "";
        const chunk = new Uint8Array(65536);
        const readUntil = async (cond: () => boolean) => {
          while (!cond()) {
            const r = await conn.read(chunk).catch(() => null);
            if (r === null) return false;
            buf += dec.decode(chunk.subarray(0, r));
          }
          return true;
        };
        try {
          for (let req = 0;; req++) {
            if (!await readUntil(() => buf.includes("\r\n\r\n"))) return;
            const end = buf.indexOf("\r\n\r\n") + 4;
            const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
            if (index === 0 && req === 1) return; // close mid-upload, no answer
            if (!await readUntil(() => buf.length >= end + length)) return;
            bodies.push(buf.slice(end, end + length));
            buf = buf.slice(end + length);
            await conn.write(
              new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            );
          }
        } finally {
          conn.close();
        }
      })();
    }
  };
  const accepting = serve().catch(() => {});
  const px = await startTestProxy(simpleConfig({ s1: `127.0.0.1:${listener.addr.port}` }));
  const client = await RawClient.connect(px.port);
  try {
    await client.send("POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
    assertEquals((await client.response()).status, 200);
    // The second request's body comes in two parts: the pooled connection dies in between.
    await client.send("POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
    await new Promise((r) => setTimeout(r, 150));
    await client.send("world");
    const res = await client.response();
    assertEquals([res.status, res.text], [200, "ok"]);
    assertEquals(bodies, ["x", "helloworld"]);
  } finally {
    client.conn.close();
    await px.stop();
    listener.close();
    await accepting;
  }
});

Deno.test("stop() cuts an endless response after the grace period, without crashing", async () => {
  // An endless chunked body (Deno's shutdown() alone would wait for it for ever).
  const be = new RawBackend(async (_r, c): Promise<"close"> => {
    await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (let i = 0; i < 200; i++) {
      try {
        await c.write("5\r\nchunk\r\n");
      } catch {
        return "close";
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return "close";
  });
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  const client = await RawClient.connect(px.port);
  try {
    await client.send("GET /endless HTTP/1.1\r\nHost: a\r\n\r\n");
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await px.runtime.stop(300);
    const took = performance.now() - t0;
    assert(took < 3000, `stop took ${took} ms`);
    // The client reads what was already sent, then the connection ends (bounded).
    let closed = false;
    for (let i = 0; i < 1000 && !closed; i++) closed = await client.waitClosed();
    assert(closed, "the client connection is closed");
    const [rec] = await px.waitLogs(1);
    assertEquals(rec.status, 200);
  } finally {
    client.conn.close();
    await px.stop();
    await be.close();
  }
});

Deno.test("bad requests are answered with HAProxy's 400 and logged as <BADREQ>", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const c = await RawClient.connect(px.port);
    await c.send("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n");
    const res = await c.response();
    assertEquals(res.status, 400);
    assertEquals(res.statusLine, "HTTP/1.1 400 Bad request");
    assert(await c.waitClosed());
    c.close();
    // A connection that sends nothing at all: logged as a null connection (dontlognull's case).
    const empty = await Deno.connect({ hostname: "127.0.0.1", port: px.port });
    empty.close();
    const logs = await px.waitLogs(2);
    const bad = logs.find((r) => r.termination === "PR--")!;
    assertEquals([bad.status, bad.requestLine, bad.server, bad.bytesRead], [400, null, null, 0]);
    const nul = logs.find((r) => r.termination === "CR--")!;
    assertEquals([nul.status, nul.requestLine, nul.nullConnection], [400, null, true]);
    assertEquals(be.received.length, 0);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("a request body that breaks its chunked framing gets 400, logged PD--", async () => {
  const be = new RawBackend(async () => {});
  be.readBody = false;
  const px = await startTestProxy(simpleConfig({ s1: be.address }));
  try {
    const c = await RawClient.connect(px.port);
    await c.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    // The head went up first; the bad chunk comes after.
    for (let i = 0; i < 200 && be.received.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(be.received.length, 1);
    await c.send("zz\r\n");
    const res = await c.response();
    assertEquals(res.status, 400);
    assert(await c.waitClosed());
    c.close();
    const [rec] = await px.waitLogs(1);
    assertEquals([rec.status, rec.termination], [400, "PD--"]);
  } finally {
    await px.stop();
    await be.close();
  }
});

Deno.test("maxconn counts connections: idle kept-alive ones hold their slot, the next waits", async () => {
  const be = new RawBackend(echoHead);
  const px = await startTestProxy(simpleConfig({ s1: be.address }, {
    frontend: "    maxconn: 2",
  }));
  const a = await RawClient.connect(px.port);
  const b = await RawClient.connect(px.port);
  const c = await RawClient.connect(px.port);
  try {
    for (const k of [a, b]) {
      await k.send(GET);
      assertEquals((await k.response()).status, 200);
    }
    const fe = px.runtime.state.frontends.get("f")!.counters;
    assertEquals(fe.current, 2);
    // The third connection is in the listen backlog (or accepted and waiting): no answer yet.
    await c.send(GET);
    let answered = false;
    const third = c.response().then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert(!answered, "no slot while two connections are open");
    a.close(); // an idle kept-alive connection leaves: its slot goes to the waiting one
    assertEquals((await third).status, 200);
    assertEquals(fe.current, 2);
  } finally {
    a.close();
    b.close();
    c.close();
    await px.stop();
    await be.close();
  }
});
