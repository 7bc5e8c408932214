// mode tcp end to end through startRuntime: a byte tunnel both ways with half-close,
// balancing, retries and redispatch, no server, timeouts, maxconn, counters and the tcplog
// record.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { formatTcplog } from "../../src/log/httplog.ts";
import { server } from "../helpers/config.ts";
import {
  closedPort,
  connect,
  echoServer,
  greeter,
  readAll,
  readUntil,
  startTcpProxy,
  tcpBackend,
  tcpConfig,
  tcpFrontend,
  waitFor,
  writeAll,
} from "./helpers.ts";

Deno.test("tcp: bytes go both ways; the client's FIN reaches the server, whose answer still comes back", async () => {
  const echo = echoServer("s1");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b"), [tcpBackend("b", [server("s1", echo.port)])]),
  );
  try {
    const c = await connect(proxy.port);
    await writeAll(c, "hello ");
    assertEquals(await readUntil(c, "hello "), "hello ");
    await writeAll(c, "world");
    await c.closeWrite(); // half-close: the server must see EOF and may still answer
    assertEquals(await readAll(c), "worldbye s1");
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.frontend, rec.backend, rec.server, rec.termination], [
      "fe",
      "b",
      "s1",
      "----",
    ]);
    assertEquals(rec.bytesRead, "hello worldbye s1".length);
    assert(rec.tc >= 0 && rec.tw >= 0 && rec.ta >= rec.tc, `${rec.tw}/${rec.tc}/${rec.ta}`);
    // HAProxy's tcplog layout: `ip:port [date] fe b/s Tw/Tc/Tt bytes ts ac/fc/bc/sc/rc sq/bq`.
    const line = formatTcplog(rec);
    assert(
      /^127\.0\.0\.1:\d+ \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe b\/s1 \d+\/\d+\/\d+ 17 -- 1\/1\/0\/0\/0 0\/0$/
        .test(line),
      line,
    );
    const st = proxy.runtime.state;
    const srv = st.server("b", "s1")!.counters;
    assertEquals([srv.requests, srv.current, srv.bytesIn, srv.bytesOut], [1, 0, 11, 17]);
    assertEquals(st.frontends.get("fe")!.counters.requests, 1);
    assertEquals(st.backends.get("b")!.counters.requests, 1);
  } finally {
    await proxy.stop();
    await echo.close();
  }
});

Deno.test("tcp: the server speaking first and closing first reaches the client", async () => {
  const g = greeter("mysql-like");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b"), [tcpBackend("b", [server("s1", g.port)])]),
  );
  try {
    const c = await connect(proxy.port);
    assertEquals(await readUntil(c, "\n"), "mysql-like\n");
    await writeAll(c, "ping");
    assertEquals(await readUntil(c, "ping"), "ping");
    await c.closeWrite();
    assertEquals(await readAll(c), "");
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals(rec.termination, "----");
  } finally {
    await proxy.stop();
    await g.close();
  }
});

for (const algorithm of ["roundrobin", "static-rr", "leastconn", "first", "source"]) {
  Deno.test(`tcp: balance ${algorithm} over two servers`, async () => {
    const a = greeter("a");
    const b = greeter("b");
    const proxy = await startTcpProxy(
      tcpConfig(tcpFrontend("b"), [
        tcpBackend("b", [server("a", a.port), server("b", b.port)], {
          balance: { algorithm, param: null },
        }),
      ]),
    );
    try {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await connect(proxy.port);
        seen.push((await readUntil(c, "\n")).trim());
        c.close();
        await proxy.waitLogs(i + 1);
      }
      if (algorithm === "roundrobin" || algorithm === "static-rr" || algorithm === "leastconn") {
        assertEquals(seen, ["a", "b", "a", "b"]);
      } else if (algorithm === "source") {
        assertEquals(new Set(seen).size, 1); // one client address, one server
      } else assertEquals(seen, ["a", "a", "a", "a"]); // first: the first with a free slot
    } finally {
      await proxy.stop();
      await a.close();
      await b.close();
    }
  });
}

Deno.test("tcp: leastconn sends a second concurrent session to the idle server", async () => {
  const a = greeter("a");
  const b = greeter("b");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b"), [
      tcpBackend("b", [server("a", a.port), server("b", b.port)], {
        balance: { algorithm: "leastconn", param: null },
      }),
    ]),
  );
  try {
    const c1 = await connect(proxy.port);
    const c2 = await connect(proxy.port);
    const got = [(await readUntil(c1, "\n")).trim(), (await readUntil(c2, "\n")).trim()];
    assertEquals(got.sort(), ["a", "b"]);
    c1.close();
    c2.close();
    await proxy.waitLogs(2);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("tcp: use-server names the server in mode tcp too (a layer-4 condition), unless it is stopped", async () => {
  const a = greeter("a");
  const b = greeter("b");
  const loc = { file: "t", line: 1, col: 1 };
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b"), [
      tcpBackend("b", [server("a", a.port), server("b", b.port)], {
        acls: [{ name: "local", text: "src 127.0.0.0/8", loc }],
        useServer: [{ server: "b", polarity: "if", condition: "local", loc, serverLoc: loc }],
      }),
    ]),
  );
  try {
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connect(proxy.port);
      got.push((await readUntil(c, "\n")).trim());
      c.close();
    }
    assertEquals(got, ["b", "b", "b"]); // without the rule: a, b, a
    proxy.runtime.state.server("b", "b")!.admin = "MAINT";
    const c = await connect(proxy.port);
    assertEquals((await readUntil(c, "\n")).trim(), "a");
    c.close();
    await proxy.waitLogs(4);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("tcp: a refused server is retried on another with redispatch (+1), SC-- when none answers", async () => {
  const g = greeter("alive");
  const dead = closedPort();
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b"), [
      tcpBackend("b", [server("dead", dead), server("alive", g.port)], {}, {
        options: { redispatch: true },
        retries: 3,
      }),
      tcpBackend("none", [server("dead", dead)], {}, { retries: 1 }),
    ]),
  );
  try {
    const c = await connect(proxy.port);
    assertEquals(await readUntil(c, "\n"), "alive\n");
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.retries, rec.redispatched], ["alive", 1, true]);
  } finally {
    await proxy.stop();
    await g.close();
  }
  const p2 = await startTcpProxy(
    tcpConfig(tcpFrontend("none"), [
      tcpBackend("none", [server("dead", dead)], {}, { retries: 1 }),
    ]),
  );
  try {
    const c = await connect(p2.port);
    assertEquals(await readAll(c), ""); // closed, nothing sent
    c.close();
    const [rec] = await p2.waitLogs(1);
    assertEquals([rec.server, rec.termination, rec.tc, rec.retries], ["dead", "SC--", -1, 1]);
  } finally {
    await p2.stop();
  }
});

Deno.test("tcp: no backend for the session: closed, <NOSRV> SC--", async () => {
  const proxy = await startTcpProxy(tcpConfig(tcpFrontend(null), []));
  try {
    const c = await connect(proxy.port);
    assertEquals(await readAll(c), "");
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.termination], [null, "SC--"]);
  } finally {
    await proxy.stop();
  }
});

Deno.test("tcp: timeout client ends an idle session (cD--); timeout client-fin a half-closed one", async () => {
  const g = greeter("g");
  const silent = (await import("./helpers.ts")).rawServer(async (conn) => {
    const buf = new Uint8Array(64);
    while ((await conn.read(buf)) !== null) { /* swallow, never close */ }
    await new Promise((r) => setTimeout(r, 10000));
  });
  const proxy = await startTcpProxy(
    tcpConfig(
      tcpFrontend("b", { settings: { timeouts: { client: 300, clientFin: 200 } } }),
      [tcpBackend("b", [server("g", g.port)]), tcpBackend("s", [server("s", silent.port)])],
    ),
  );
  try {
    const c = await connect(proxy.port);
    const t0 = Date.now();
    assertEquals(await readAll(c), "g\n");
    const took = Date.now() - t0;
    assert(took >= 280 && took < 3000, `idle close after ${took} ms`);
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals(rec.termination, "cD--");
  } finally {
    await proxy.stop();
  }
  const p2 = await startTcpProxy(
    tcpConfig(
      tcpFrontend("s", { settings: { timeouts: { client: 5000, clientFin: 200 } } }),
      [tcpBackend("s", [server("s", silent.port)])],
    ),
  );
  try {
    const c = await connect(p2.port);
    await writeAll(c, "x");
    await c.closeWrite(); // the server never answers nor closes: client-fin applies
    const t0 = Date.now();
    assertEquals(await readAll(c), "");
    const took = Date.now() - t0;
    assert(took >= 150 && took < 3000, `half-closed session cut after ${took} ms`);
    c.close();
    const [rec] = await p2.waitLogs(1);
    assertEquals(rec.termination, "cD--");
  } finally {
    await p2.stop();
    await g.close();
    await silent.close();
  }
});

Deno.test("tcp: maxconn 1 holds the second client until the first leaves", async () => {
  const g = greeter("g");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b", { settings: { maxconn: 1 } }), [
      tcpBackend("b", [server("g", g.port)]),
    ]),
  );
  try {
    const c1 = await connect(proxy.port);
    assertEquals(await readUntil(c1, "\n"), "g\n");
    const c2 = await connect(proxy.port); // accepted by the kernel, not served yet
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(g.accepted, 1);
    c1.close();
    assertEquals(await readUntil(c2, "\n"), "g\n");
    c2.close();
    await proxy.waitLogs(2);
  } finally {
    await proxy.stop();
    await g.close();
  }
});

Deno.test("tcp: stop() ends open sessions (KD--) and frees every slot", async () => {
  const g = greeter("g");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b"), [tcpBackend("b", [server("g", g.port)])]),
  );
  const c = await connect(proxy.port);
  try {
    assertEquals(await readUntil(c, "\n"), "g\n");
    await proxy.runtime.stop(100);
    assertEquals(await readAll(c), "");
    const [rec] = await proxy.waitLogs(1);
    assertEquals(rec.termination, "KD--");
    assert(await waitFor(() => proxy.runtime.state.activeConnections === 0, 2000));
  } finally {
    c.close();
    await g.close();
  }
});

Deno.test("tcp: timeout tunnel wins over client and server once connected", async () => {
  const g = greeter("g");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("b", { settings: { timeouts: { client: 5000 } } }), [
      tcpBackend("b", [server("g", g.port)], {}, { timeouts: { server: 5000, tunnel: 300 } }),
    ]),
  );
  try {
    const c = await connect(proxy.port);
    const t0 = Date.now();
    assertEquals(await readAll(c), "g\n");
    const took = Date.now() - t0;
    assert(took >= 250 && took < 3000, `closed after ${took} ms`);
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals(rec.termination, "cD--");
  } finally {
    await proxy.stop();
    await g.close();
  }
});
