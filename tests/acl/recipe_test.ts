// The Wt recipe (4 ACLs, 3 backends, track lines) over thousands of requests: sessions stay
// on their server, session-less requests alternate, nbsrv() gates on forced health.
import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { recipeConfig } from "../helpers/config.ts";
import { req } from "../balance/fixture.ts";
import { pipeline } from "../balance/pipeline.ts";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function sessionId(prefix: string, n: number): string {
  let id = prefix;
  let x = n * 2654435761;
  for (let i = 0; i < 16; i++) {
    id += ALNUM[x % 62];
    x = Math.floor(x / 62) + i * 7919;
  }
  return id;
}

Deno.test("recipe: 1200 requests, wt1 -> srv1, wt2 -> srv2, session-less alternate", () => {
  const p = pipeline(recipeConfig());
  const lb: string[] = [];
  for (let i = 0; i < 1200; i++) {
    const kind = i % 4;
    if (kind === 0) {
      const r = p.pick(
        req(`/app?wtd=${sessionId("wt1", i)}&request=jsupdate`, { method: "POST" }),
      )!;
      assertEquals([r.backend, r.server], ["bck1", "srv1"]);
    } else if (kind === 1) {
      const r = p.pick(req(`/app?wtd=${sessionId("wt2", i)}&request=script&rand=${i}`))!;
      assertEquals([r.backend, r.server], ["bck2", "srv2"]);
    } else {
      const r = p.pick(req(kind === 2 ? "/app" : "/resources/style.css"))!;
      equal(r.backend, "bck_lb");
      lb.push(r.server);
    }
  }
  equal(lb.length, 600);
  // Strict alternation per request, first pick = first server (§3.20).
  lb.forEach((s, i) => equal(s, i % 2 === 0 ? "srv1" : "srv2", `balanced request ${i}`));
});

Deno.test("recipe: §3.17/§3.18 routing table", () => {
  const p = pipeline(recipeConfig());
  const table: [string, string][] = [
    ["/?wtd=wt1x", "bck1"],
    ["/?wtd=wt2x", "bck2"],
    ["/", "bck_lb"],
    ["/?wtd=wt2x&wtd=wt1y", "bck1"], // rule order
    ["/wtd=wt1/path", "bck1"],
    ["/?a=1&wtd=wt12", "bck1"],
    ["/x?WTD=WT1", "bck_lb"],
    ["/app?wtd%3Dwt2abc", "bck_lb"],
    ["http://example.com/app?wtd=wt2abc", "bck2"],
  ];
  for (const [target, backend] of table) equal(p.pick(req(target))!.backend, backend, target);
  // Headers are ignored.
  equal(
    p.pick(req("/", { headers: { referer: "http://h/?wtd=wt2abc" } }))!.backend,
    "bck_lb",
  );
});

Deno.test("recipe: nbsrv gating with a server forced DOWN, and back", () => {
  const p = pipeline(recipeConfig());
  const wt1 = `/app?wtd=${sessionId("wt1", 1)}`;
  equal(p.pick(req(wt1))!.server, "srv1");
  equal(p.nbsrv("bck1"), 1);

  p.setHealth("bck1/srv1", "DOWN"); // the checker's verdict; bck_lb/srv1 tracks it
  equal(p.nbsrv("bck1"), 0);
  equal(p.nbsrv("bck_lb"), 1, "bck_lb/srv1 tracks bck1/srv1");
  for (let i = 0; i < 10; i++) {
    const r = p.pick(req(wt1))!;
    assertEquals([r.backend, r.server], ["bck_lb", "srv2"], "wt1 session fails over to wt2");
    assertEquals(p.pick(req("/"))!.server, "srv2", "balanced requests avoid the DOWN server");
  }
  equal(p.pick(req(`/app?wtd=${sessionId("wt2", 2)}`))!.backend, "bck2");

  p.setHealth("bck1/srv1", "UP");
  assertEquals(p.pick(req(wt1))!.backend, "bck1");
  const lb = [p.pick(req("/"))!.server, p.pick(req("/"))!.server];
  assertEquals(lb.sort(), ["srv1", "srv2"], "alternation resumes");

  // Admin states count too (§3.19): DRAIN and MAINT take the server out of nbsrv().
  for (const admin of ["DRAIN", "MAINT"] as const) {
    p.store.servers.get("bck1/srv1")!.admin = admin;
    assertEquals(p.pick(req(wt1))!.address, "127.0.0.1:9091", admin);
    p.store.servers.get("bck1/srv1")!.admin = "READY";
    assertEquals(p.pick(req(wt1))!.address, "127.0.0.1:9090");
  }

  // Both down: no server anywhere -> 503.
  p.setHealth("bck1/srv1", "DOWN");
  p.setHealth("bck2/srv2", "DOWN");
  equal(p.pick(req(wt1)), null);
  equal(p.pick(req("/")), null);
});
