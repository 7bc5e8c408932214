// nbthread 2: two data-plane workers under one control plane, over real sockets on 127.0.0.1.
// Both workers accept (requests per worker), one view of the state (counters summed, maxconn
// counted once for both), reload switches every worker, a worker that dies is replaced.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { named, RawBackend } from "../helpers/raw_backend.ts";
import { RawClient, rawRequest } from "../helpers/raw_client.ts";
import { simpleConfig, startTestProxy } from "../helpers/proxy.ts";

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`;

/** Polls `cond` every 10 ms, at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("nbthread 2: both workers accept; counters are summed and split per worker; logs arrive", async () => {
  const a = new RawBackend(named("A"));
  const p = await startTestProxy(simpleConfig({ s1: a.address }), { nbthread: 2 });
  try {
    assertEquals(p.runtime.nbthread, 2);
    assertEquals(p.runtime.workers?.size, 2);
    const N = 200;
    for (let i = 0; i < N; i++) {
      const r = await rawRequest(p.port, GET(`/r${i}`));
      assertEquals(r.status, 200);
    }
    const fe = p.runtime.state.frontends.get("f")!.counters;
    assertEquals(fe.requests, N);
    const split = fe.perWorker("requests");
    assertEquals(split.length, 2);
    assertEquals(split[0] + split[1], N);
    // The kernel spreads connections over both reusePort sockets (evenly on average).
    assert(split[0] > 0 && split[1] > 0, `requests per worker: ${split}`);
    assertEquals(p.runtime.state.servers.get("b/s1")!.counters.requests, N);
    await p.waitLogs(N);
    assertEquals(new Set(p.logs.map((l) => l.requestLine)).size, N);
  } finally {
    await p.stop();
    await a.close();
  }
});

Deno.test("nbthread 2: maxconn 10 admits 10 connections in all, not 10 per worker", async () => {
  const a = new RawBackend(named("A"));
  const p = await startTestProxy(
    simpleConfig({ s1: a.address }, { frontend: "    maxconn: 10" }),
    { nbthread: 2 },
  );
  const clients: RawClient[] = [];
  try {
    // 30 idle kept-alive connections: 10 are admitted, the others wait in the backlog.
    for (let i = 0; i < 30; i++) clients.push(await RawClient.connect(p.port));
    const fe = p.runtime.state.frontends.get("f")!.counters;
    await until(() => fe.current === 10);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(fe.current, 10);
    assertEquals(p.runtime.state.activeConnections, 10);
    // Closing 5 lets 5 more in, whichever worker holds them.
    for (const c of clients.splice(0, 5)) c.close();
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(fe.current, 10);
  } finally {
    for (const c of clients) c.close();
    await p.stop();
    await a.close();
  }
});

Deno.test("nbthread 2: reload switches every worker to the new configuration", async () => {
  const a = new RawBackend(named("A"));
  const b = new RawBackend(named("B"));
  const p = await startTestProxy(simpleConfig({ s1: a.address }), { nbthread: 2 });
  try {
    const { config } = await loadConfigText(simpleConfig({ s2: b.address }), "test.yaml");
    // Same bind text (127.0.0.1:0) but a port-0 bind is kept per frontend: same port.
    await p.runtime.reload(config);
    for (let i = 0; i < 40; i++) {
      const r = await rawRequest(p.port, GET(`/after${i}`));
      assertEquals(r.status, 200);
      assertEquals(r.text.startsWith("B "), true, r.text);
    }
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("nbthread 2: a worker that throws is logged and replaced; the proxy keeps serving", async () => {
  const a = new RawBackend(named("A"));
  const p = await startTestProxy(simpleConfig({ s1: a.address }), { nbthread: 2 });
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    p.runtime.workers!.fault(1);
    await until(() => p.runtime.workers!.replaced === 1);
    assert(errors.some((e) => /data-plane worker 1 died/.test(e)), errors.join("\n"));
    for (let i = 0; i < 40; i++) {
      const r = await rawRequest(p.port, GET(`/x${i}`));
      assertEquals(r.status, 200);
    }
    const split = p.runtime.state.frontends.get("f")!.counters.perWorker("requests");
    assert(split[0] > 0 && split[1] > 0, `the new worker 1 accepts too: ${split}`);
  } finally {
    console.error = orig;
    await p.stop();
    await a.close();
  }
});
