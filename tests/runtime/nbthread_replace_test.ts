// nbthread 2: a data-plane worker that dies is replaced, and the replacement knows what the
// control plane pushed before and while it started (discovered addresses, live Wt sessions).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { named, RawBackend } from "../helpers/raw_backend.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { ScriptedResolver } from "../discovery/helpers.ts";

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`;

/** Polls `cond` every 10 ms, at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function dnsConfig(port: number): string {
  return `
defaults:
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
  f: { bind: "127.0.0.1:0", default_backend: app }
backends:
  app:
    servers:
      a: { address: "app.test:${port}", resolvers: dns, init-addr: none }
resolvers:
  dns:
    nameservers: { ns1: "127.0.0.1:53" }
    hold: { valid: 50ms, nx: 50ms, timeout: 10s }
    timeouts: { resolve: 50ms, retry: 50ms }
`;
}

async function allReach(port: number, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await rawRequest(port, GET(`/${tag}${i}`));
    assertEquals(r.status, 200, `${tag}${i}: ${r.text}`);
    assert(r.text.startsWith("A "), r.text);
  }
}

Deno.test("nbthread 2: a replaced worker has the discovered addresses, found before and while it starts", async () => {
  const a = new RawBackend(named("A"));
  const resolver = new ScriptedResolver();
  resolver.a.set("app.test", ["127.0.0.1"]);
  const p = await startTestProxy(dnsConfig(a.listener.addr.port), {
    nbthread: 2,
    discovery: { resolverFor: () => resolver },
  });
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    const sa = p.runtime.state.servers.get("app/a")!;
    await until(() => sa.dns !== null && sa.dns !== undefined && sa.usable);
    await allReach(p.port, 20, "before");

    // 1. Worker 1 dies; the address was found before: its replacement is given it at start.
    p.runtime.workers!.fault(1);
    await until(() => p.runtime.workers!.replaced === 1);
    const fe = p.runtime.state.frontends.get("f")!.counters;
    const before = fe.perWorker("requests");
    await allReach(p.port, 40, "after");
    const after = fe.perWorker("requests");
    assert(after[0] > before[0] && after[1] > before[1], `both workers served: ${before} ${after}`);

    // 2. The name vanishes (the slot goes to MAINT), worker 1 dies again, and the name comes
    // back while the new worker starts: the address pushed in that window reaches it too.
    resolver.a.set("app.test", "nx");
    await until(() => !sa.usable);
    p.runtime.workers!.fault(1);
    await until(() => errors.filter((e) => /worker 1 died/.test(e)).length === 2);
    resolver.a.set("app.test", ["127.0.0.1"]);
    await until(() => p.runtime.workers!.replaced === 2);
    await until(() => sa.usable);
    const before2 = fe.perWorker("requests");
    await allReach(p.port, 40, "again");
    const after2 = fe.perWorker("requests");
    assert(after2[0] > before2[0] && after2[1] > before2[1], `both served: ${before2} ${after2}`);
  } finally {
    console.error = orig;
    await p.stop();
    await a.close();
  }
});
