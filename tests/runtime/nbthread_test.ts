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
  const yaml = simpleConfig({ s1: a.address }) + `admin:\n  bind: "127.0.0.1:0"\n`;
  const p = await startTestProxy(yaml, { nbthread: 2, admin: true });
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
    // The admin listener (control plane) shows the totals and the split.
    const admin = `http://127.0.0.1:${p.runtime.adminAddr!.port}`;
    const stats = await (await fetch(`${admin}/stats.json`)).json();
    assertEquals(stats.info.nbthread, 2);
    assertEquals(stats.info.requestsPerWorker, split);
    assertEquals(stats.frontends[0].counters.requests, N);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert(metrics.includes("haproxy_process_nbthread 2"), metrics);
    assert(metrics.includes(`wtproxy_worker_requests_total{thread="1"} ${split[0]}`), metrics);
    assert(metrics.includes(`wtproxy_worker_requests_total{thread="2"} ${split[1]}`), metrics);
    assert(metrics.includes(`haproxy_frontend_http_requests_total{proxy="f"} ${N}`), metrics);
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

Deno.test("nbthread 2: a server killed under traffic: no worker sends to it once it is DOWN", async () => {
  const a = new RawBackend(named("A"));
  const b = new RawBackend(named("B"));
  const yaml = `
defaults:
  timeouts: { connect: 1s, client: 5s, server: 5s }
  retries: 2
  options: { redispatch: true }
frontends:
  f: { bind: "127.0.0.1:0", default_backend: bk }
backends:
  bk:
    servers:
      a: { address: "${a.address}", check: true, inter: 100, rise: 1, fall: 1 }
      b: { address: "${b.address}", check: true, inter: 100, rise: 1, fall: 1 }
`;
  const p = await startTestProxy(yaml, { nbthread: 2, health: true });
  const store = p.runtime.state;
  const sa = store.server("bk", "a")!;
  let failed = 0;
  let stop = false;
  // Traffic on fresh connections (spread over both workers) until told to stop.
  const traffic = (async () => {
    for (let i = 0; !stop && i < 5000; i++) {
      const r = await rawRequest(p.port, GET(`/t${i}`));
      if (r.status !== 200) failed++;
    }
  })();
  try {
    await until(() => sa.counters.requests > 20);
    await a.close(); // killed: connections refused from now on
    await until(() => sa.health === "DOWN");
    const attempts = () => sa.counters.requests + sa.counters.connectErrors;
    const seen = attempts();
    const fe = store.frontends.get("f")!.counters;
    const before = fe.perWorker("requests");
    const total = fe.requests;
    await until(() => fe.requests > total + 200);
    const after = fe.perWorker("requests");
    assert(after[0] > before[0] && after[1] > before[1], `both workers served: ${before} ${after}`);
    assertEquals(attempts(), seen, "a worker still sent to the DOWN server");
    assertEquals(failed, 0, "a request failed: retries and redispatch cover the refused connect");
  } finally {
    stop = true;
    await traffic;
    await p.stop();
    await b.close();
  }
});

Deno.test("nbthread 2: roundrobin proportions hold over both workers (weights 3:1)", async () => {
  const a = new RawBackend(named("A"));
  const b = new RawBackend(named("B"));
  const p = await startTestProxy(
    simpleConfig({ a: `${a.address}, weight: 3`, b: b.address }),
    { nbthread: 2 },
  );
  try {
    const N = 400;
    let toA = 0;
    for (let i = 0; i < N; i++) {
      const r = await rawRequest(p.port, GET(`/p${i}`));
      assertEquals(r.status, 200);
      if (r.text.startsWith("A ")) toA++;
    }
    // Each worker runs its own smooth weighted round robin: within one request of 3/4 of what
    // it received, so the total is within one per worker of 300.
    assert(Math.abs(toA - (3 * N) / 4) <= 2, `${toA} of ${N} went to the weight-3 server`);
    const split = p.runtime.state.frontends.get("f")!.counters.perWorker("requests");
    assert(split[0] > 0 && split[1] > 0, `requests per worker: ${split}`);
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});
