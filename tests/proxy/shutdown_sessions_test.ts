// `on-marked-down shutdown-sessions` in mode http: when the server goes DOWN (or into
// maintenance), its WebSocket tunnels are closed (close 1001 to the client, logged DD--) and
// its HTTP exchanges in progress are cut: 502 DH-- before the response head (as HAProxy 2.6
// answers), the client connection cut (DD--) during the body. Servers without the option keep
// theirs. Runs at nbthread 2 too (deno task test:threads): the DOWN event reaches the workers.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { applyCheckResult, setAdminState } from "../../src/health/machine.ts";
import { result } from "../../src/health/checker.ts";
import { startTestProxy, type TestProxy } from "../helpers/proxy.ts";
import { RawBackend } from "../helpers/raw_backend.ts";
import { openClient, startEchoBackend, within, wsHead } from "../ws/harness.ts";
import { waitFor } from "../health/helpers.ts";
import { server } from "../helpers/config.ts";
import {
  connect,
  greeter,
  startTcpProxy,
  tcpBackend,
  tcpConfig,
  tcpFrontend,
} from "../tcp/helpers.ts";

const DOWN = () => result("L4CON", performance.now(), undefined, "Connection refused");
const dec = new TextDecoder();

function config(cut: number, keep: number, hold: number): string {
  return `
defaults:
  mode: http
  timeouts: { connect: 1s, client: 10s, server: 10s }
frontends:
  f:
    bind: ["127.0.0.1:0"]
    acls:
      keep: path_beg /keep
      hold: path_beg /hold
      holdkeep: path_beg /holdkeep
    use_backend:
      - { backend: holdkeep, if: holdkeep }
      - { backend: keep, if: keep }
      - { backend: hold, if: hold }
    default_backend: cut
backends:
  cut:
    servers:
      c: { address: 127.0.0.1:${cut}, check: true, on-marked-down: shutdown-sessions }
  keep:
    servers:
      k: { address: 127.0.0.1:${keep}, check: true }
  hold:
    servers:
      h: { address: 127.0.0.1:${hold}, check: true, on-marked-down: shutdown-sessions }
  holdkeep:
    servers:
      hk: { address: 127.0.0.1:${hold}, check: true }
`;
}

/** Marks backend/server DOWN the way a failed health check does (on the control plane). */
function markDown(proxy: TestProxy, backend: string, server: string): void {
  const st = proxy.runtime.state;
  applyCheckResult(st, st.server(backend, server)!, DOWN());
}

/** Reads until `text` arrived or EOF (bounded). */
async function readUntil(conn: Deno.Conn, text: string, ms = 5000): Promise<string> {
  const buf = new Uint8Array(65536);
  let out = "";
  const timer = setTimeout(() => closeQuietly(conn), ms);
  try {
    while (!out.includes(text)) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n));
    }
  } catch { /* closed by the timer */ }
  clearTimeout(timer);
  return out;
}

/** Reads until EOF (bounded): what arrived and whether the peer closed. */
async function readToEnd(conn: Deno.Conn, ms = 5000): Promise<{ text: string; eof: boolean }> {
  const buf = new Uint8Array(65536);
  let text = "";
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, ms);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
  } catch { /* reset, or closed by the timer */ }
  clearTimeout(timer);
  return { text, eof: !timedOut };
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* closed already */ }
}

async function send(port: number, path: string): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
  return c;
}

/** A backend that holds /hold* requests until release(); /hold/part sends 3 of 100 bytes. */
function holdBackend(): { be: RawBackend; release(): void } {
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const be = new RawBackend(async (req, c): Promise<"close"> => {
    if (req.head.startsWith("GET /hold/part")) {
      await c.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
    }
    await released;
    await c.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").catch(() => {});
    return "close";
  });
  return { be, release };
}

Deno.test("shutdown-sessions: a WebSocket tunnel to a server marked DOWN is closed (1001, DD--); without the option it stays", async () => {
  const cutBe = startEchoBackend();
  const keepBe = startEchoBackend();
  const hold = holdBackend();
  const proxy = await startTestProxy(config(cutBe.port, keepBe.port, hold.be.port));
  try {
    const c = await within(openClient(proxy.port, "/?wtd=a&request=ws"), 5000, "open cut");
    const k = await within(openClient(proxy.port, "/keep?wtd=b&request=ws"), 5000, "open keep");
    c.ws.send("hello");
    assertEquals(await within(c.next(), 5000, "echo"), "hello");
    const st = proxy.runtime.state;
    const cutC = st.server("cut", "c")!.counters;
    assertEquals([cutC.wsOpen, cutC.current], [1, 1]);

    markDown(proxy, "cut", "c");
    markDown(proxy, "keep", "k");
    const ev = await within(c.closed, 5000, "tunnel closed");
    assertEquals(ev.code, 1001);
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.backend, rec.server, rec.status, rec.termination], [
      "cut",
      "c",
      101,
      "DD--",
    ]);
    // The backend socket was closed too (no close frame of its own reached it first).
    await within(cutBe.closes[0], 5000, "backend side closed");
    assertEquals(await waitFor(() => cutC.wsOpen === 0 && cutC.current === 0, 2000), true);

    // The tunnel to the server without the option lives on.
    k.ws.send("still here");
    assertEquals(await within(k.next(), 5000, "echo keep"), "still here");
    assertEquals(proxy.logs.length, 1);
    k.ws.close();
    await within(k.closed, 5000, "keep closed");
    await proxy.waitLogs(2);
    assertEquals(await waitFor(() => st.activeConnections === 0, 2000), true);
    assertEquals(st.server("keep", "k")!.counters.current, 0);
  } finally {
    await proxy.stop();
    hold.release();
    await hold.be.close();
    await cutBe.close();
    await keepBe.close();
  }
});

Deno.test("shutdown-sessions: HTTP exchanges on a server marked DOWN are cut (502 DH-- waiting for the head, DD-- in the body)", async () => {
  const hold = holdBackend();
  const proxy = await startTestProxy(config(1, 1, hold.be.port));
  const conns: Deno.TcpConn[] = [];
  try {
    const waiting = await send(proxy.port, "/hold/wait");
    const part = await send(proxy.port, "/hold/part");
    const other = await send(proxy.port, "/holdkeep");
    conns.push(waiting, part, other);
    assert((await readUntil(part, "abc")).startsWith("HTTP/1.1 200"));
    assertEquals(await waitFor(() => hold.be.received.length === 3, 5000), true);
    const st = proxy.runtime.state;
    assertEquals(st.server("hold", "h")!.counters.current, 2);

    markDown(proxy, "hold", "h");
    markDown(proxy, "holdkeep", "hk");
    const head = await readUntil(waiting, "</html>");
    assert(head.startsWith("HTTP/1.1 502 "), head);
    const cut = await readToEnd(part);
    assertEquals([cut.text, cut.eof], ["", true]); // closed before the 100 bytes came
    const logs = await proxy.waitLogs(2);
    const byPath = Object.fromEntries(logs.map((r) => [r.requestLine, r]));
    const w = byPath["GET /hold/wait HTTP/1.1"];
    const p = byPath["GET /hold/part HTTP/1.1"];
    assertEquals([w.server, w.status, w.termination, w.tres], ["h", 502, "DH--", -1]);
    assertEquals([p.server, p.status, p.termination], ["h", 200, "DD--"]);
    assertEquals(await waitFor(() => st.server("hold", "h")!.counters.current === 0, 2000), true);

    // The exchange on the server without the option was left alone: it completes.
    hold.release();
    const ok = await readUntil(other, "\r\n\r\nok");
    assert(ok.startsWith("HTTP/1.1 200 OK") && ok.endsWith("ok"), ok);
    const [, , last] = await proxy.waitLogs(3);
    assertEquals([last.server, last.status, last.termination], ["hk", 200, "----"]);
    for (const c of conns.splice(0)) closeQuietly(c);
    assertEquals(await waitFor(() => st.activeConnections === 0, 2000), true);
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy.stop();
    hold.release();
    await hold.be.close();
  }
});

Deno.test("shutdown-sessions: a server put into maintenance cuts its tunnels too (HAProxy does)", async () => {
  const cutBe = startEchoBackend();
  const proxy = await startTestProxy(config(cutBe.port, 1, 1));
  try {
    const c = await within(openClient(proxy.port, "/?wtd=a&request=ws"), 5000, "open cut");
    c.ws.send("hello");
    assertEquals(await within(c.next(), 5000, "echo"), "hello");
    setAdminState(proxy.runtime.state, "cut/c", "MAINT");
    assertEquals((await within(c.closed, 5000, "tunnel closed")).code, 1001);
    const [rec] = await proxy.waitLogs(1);
    assertEquals(rec.termination, "DD--");
    const st = proxy.runtime.state;
    assertEquals(await waitFor(() => st.activeConnections === 0, 2000), true);
  } finally {
    await proxy.stop();
    await cutBe.close();
  }
});

Deno.test("shutdown-sessions: a WebSocket upgrade waiting for the server's 101 gets 502 DH--", async () => {
  const hold = holdBackend();
  const proxy = await startTestProxy(config(hold.be.port, 1, 1));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  try {
    await conn.write(
      new TextEncoder().encode(wsHead(proxy.port, "/?wtd=a&request=ws") + "\r\n\r\n"),
    );
    assertEquals(await waitFor(() => hold.be.received.length === 1, 5000), true);
    markDown(proxy, "cut", "c");
    const head = await readUntil(conn, "</html>");
    assert(head.startsWith("HTTP/1.1 502 "), head);
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.status, rec.termination], ["c", 502, "DH--"]);
    closeQuietly(conn);
    const st = proxy.runtime.state;
    assertEquals(await waitFor(() => st.activeConnections === 0, 2000), true);
    assertEquals(st.server("cut", "c")!.counters.current, 0);
  } finally {
    closeQuietly(conn);
    await proxy.stop();
    hold.release();
    await hold.be.close();
  }
});

Deno.test("shutdown-sessions: a refused WebSocket upgrade whose answer is being relayed is cut (DD--)", async () => {
  const hold = holdBackend();
  const proxy = await startTestProxy(config(1, 1, hold.be.port));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  try {
    // The server answers the upgrade with a 200 (no 101) and sends 3 of its 100 body bytes.
    await conn.write(
      new TextEncoder().encode(wsHead(proxy.port, "/hold/part?wtd=a&request=ws") + "\r\n\r\n"),
    );
    const got = await readUntil(conn, "abc");
    assert(got.startsWith("HTTP/1.1 200 "), got);
    markDown(proxy, "hold", "h");
    assertEquals(await readToEnd(conn), { text: "", eof: true }); // closed before the 100 bytes
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.status, rec.termination], ["h", 200, "DD--"]);
    const st = proxy.runtime.state;
    assertEquals(await waitFor(() => st.server("hold", "h")!.counters.current === 0, 2000), true);
  } finally {
    closeQuietly(conn);
    await proxy.stop();
    hold.release();
    await hold.be.close();
  }
});

Deno.test("shutdown-sessions: maintenance cuts mode-tcp sessions too (DD--), only with the option", async () => {
  const g = greeter("g");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("f", { rules: [["keep", "if", "{ src_port lt 0 }"]] }), [
      tcpBackend("f", [server("g", g.port, { onMarkedDown: "shutdown-sessions" })]),
      tcpBackend("keep", [server("k", g.port)]),
    ]),
  );
  const keepProxy = await startTcpProxy(
    tcpConfig(tcpFrontend("keep"), [tcpBackend("keep", [server("k", g.port)])]),
  );
  const c = await connect(proxy.port);
  const k = await connect(keepProxy.port);
  try {
    assertEquals(await readUntil(c, "\n"), "g\n");
    assertEquals(await readUntil(k, "\n"), "g\n");
    setAdminState(proxy.runtime.state, "f/g", "MAINT");
    setAdminState(keepProxy.runtime.state, "keep/k", "MAINT");
    assertEquals(await readToEnd(c), { text: "", eof: true });
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.termination], ["g", "DD--"]);
    await k.write(new TextEncoder().encode("ping\n"));
    assertEquals(await readUntil(k, "ping\n"), "ping\n"); // still relayed
    assertEquals(keepProxy.logs.length, 0);
    closeQuietly(k);
    await keepProxy.waitLogs(1);
    assertEquals(await waitFor(() => proxy.runtime.state.activeConnections === 0, 2000), true);
  } finally {
    closeQuietly(c);
    closeQuietly(k);
    await proxy.stop();
    await keepProxy.stop();
    await g.close();
  }
});
