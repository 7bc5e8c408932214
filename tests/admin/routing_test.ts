// Admin commands change routing, with the routing room's real router and balancer (no proxy
// sockets needed): maint/drain on bck1/srv1 send wt1 sessions to bck_lb, where the tracking
// srv1 is out too, so they reach srv2; ready brings them back.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { compileRouter } from "../../src/acl/compile.ts";
import { createBalancer } from "../../src/balance/create.ts";
import type { RequestInfo } from "../../src/proxy/request.ts";
import { startAdmin } from "../../src/admin/server.ts";
import { adminConfig, bck, fakeRuntime } from "./fixture.ts";

function request(target: string): RequestInfo {
  const q = target.indexOf("?");
  return {
    method: "GET",
    target,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? null : target.slice(q + 1),
    version: "HTTP/1.1",
    headers: new Headers({ host: "example.org" }),
    srcIp: "127.0.0.1",
    srcPort: 40000,
    dstIp: "127.0.0.1",
    dstPort: 8080,
  };
}

Deno.test("routing: maint/drain on bck1/srv1 move wt1 traffic to srv2; ready brings it back", async () => {
  const rt = fakeRuntime();
  const cfg = rt.config;
  const router = compileRouter(cfg.frontends[0], {
    nbsrv: (name) => rt.state.nbsrv(bck(cfg, name)),
  });
  const balancers = new Map(cfg.backends.map((b) => [b.name, createBalancer(b, rt.state)]));
  /** Where the proxy would send a request: "backend/server". */
  const where = (target: string) => {
    const req = request(target);
    const backend = router.route(req);
    const s = backend ? balancers.get(backend)!.pick(req) : undefined;
    return `${backend}/${s?.state.name ?? "<NOSRV>"}`;
  };
  const admin = await startAdmin(rt, adminConfig());
  const setState = async (state: string) => {
    const r = await fetch(`http://127.0.0.1:${admin.addr.port}/api/servers/bck1/srv1/state`, {
      method: "POST",
      body: JSON.stringify({ state }),
    });
    assertEquals(r.status, 200);
    await r.body?.cancel();
  };
  try {
    const wt1 = "/app?wtd=wt1XyZ";
    assertEquals(where(wt1), "bck1/srv1");
    assertEquals(where("/app?wtd=wt2AbC"), "bck2/srv2");

    await setState("maint");
    for (let i = 0; i < 4; i++) assertEquals(where(wt1), "bck_lb/srv2");
    await setState("ready");
    assertEquals(where(wt1), "bck1/srv1");

    await setState("drain");
    for (let i = 0; i < 4; i++) assertEquals(where(wt1), "bck_lb/srv2");
    await setState("ready");
    assertEquals(where(wt1), "bck1/srv1");
    // new sessions are balanced over both again
    const spread = new Set([where("/"), where("/"), where("/")]);
    assertEquals([...spread].sort(), ["bck_lb/srv1", "bck_lb/srv2"]);
  } finally {
    await admin.stop();
  }
});
