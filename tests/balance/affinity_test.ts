// The `affinity` shorthand against the recipe it replaces, on the same request sequence with
// the same servers forced down and up: every request must reach the same Wt server.
import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import type { AdminState, Health } from "../../src/state.ts";
import { backend, config, frontend, recipeConfig, server } from "../helpers/config.ts";
import { req, shorthandConfig } from "./fixture.ts";
import { pipeline } from "./pipeline.ts";

/** Small deterministic PRNG (mulberry32) so a failure is reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

Deno.test("shorthand = recipe on 5000 requests with servers going DOWN/UP, DRAIN/READY", () => {
  const rnd = prng(42);
  const recipe = pipeline(recipeConfig());
  const short = pipeline(shorthandConfig());
  const id = (p: string) => {
    let s = p;
    for (let i = 0; i < 16; i++) s += ALNUM[Math.floor(rnd() * 62)];
    return s;
  };
  // Request shapes real Wt clients send (§5.2), plus strays.
  const shapes: (() => string)[] = [
    () => "/app",
    () => "/resources/themes/default/wt.css",
    () => `/app?wtd=${id("wt1")}`,
    () => `/app?wtd=${id("wt2")}`,
    () => `/app?wtd=${id("wt1")}&sid=1&request=script&rand=${Math.floor(rnd() * 1e6)}`,
    () => `/app?wtd=${id("wt2")}&request=style&page=1`,
    () => `/app?wtd=${id("wt2")}&request=ws`,
    () => `/app?wtd=${id("wt1")}&request=resource&resource=blank`,
    () => `/app?wtd=${id("wt3")}`, // a prefix nobody has
    () => `/app?wtd=`,
    () => `/app?foo=1`,
    () => `http://example.com/app?wtd=${id("wt2")}`,
  ];
  const keys = {
    recipe: ["bck1/srv1", "bck2/srv2"],
    short: ["app/srv1", "app/srv2"],
  };
  // Steps seen with 0, 1 and 2 usable Wt servers: the sequence must cover all three.
  const coverage = [0, 0, 0];
  for (let step = 0; step < 5000; step++) {
    // Degrade a healthy server now and then, restore a degraded one more often.
    const which = Math.floor(rnd() * 2);
    const r = recipe.store.servers.get(keys.recipe[which])!;
    const s = short.store.servers.get(keys.short[which])!;
    if (rnd() < (r.usable ? 0.02 : 0.05)) {
      if (!r.usable) {
        r.health = s.health = "UP";
        r.admin = s.admin = "READY";
      } else if (rnd() < 0.7) {
        r.health = s.health = "DOWN" as Health;
      } else {
        r.admin = s.admin = "DRAIN" as AdminState;
      }
    }
    coverage[keys.recipe.filter((k) => recipe.store.servers.get(k)!.usable).length]++;
    const target = shapes[Math.floor(rnd() * shapes.length)]();
    const method = target.includes("request=") || rnd() < 0.5 ? "GET" : "POST";
    const a = recipe.pick(req(target, { method }));
    const b = short.pick(req(target, { method }));
    equal(b?.address ?? null, a?.address ?? null, `step ${step}: ${target}`);
  }
  for (const [n, steps] of coverage.entries()) {
    equal(steps > 100, true, `only ${steps} steps with ${n} usable servers`);
  }
});

Deno.test("shorthand: a session goes to its server while usable, else is balanced", () => {
  const p = pipeline(shorthandConfig());
  equal(p.pick(req("/?wtd=wt2abc"))!.server, "srv2");
  equal(p.pick(req("/?wtd=wt1abc&wtd=wt2x"))!.server, "srv1"); // first occurrence
  p.setHealth("app/srv2", "DOWN");
  equal(p.pick(req("/?wtd=wt2abc"))!.server, "srv1");
  p.setHealth("app/srv2", "UP");
  equal(p.pick(req("/?wtd=wt2abc"))!.server, "srv2");
  // Redispatch: when the session's server already failed for this request, balance.
  equal(p.pick(req("/?wtd=wt2abc"), new Set(["app/srv2"]))!.server, "srv1");
});

Deno.test("shorthand vs recipe: where they differ (documented in the README)", () => {
  const recipe = pipeline(recipeConfig());
  const short = pipeline(shorthandConfig());
  const where = (p: ReturnType<typeof pipeline>, t: string) => p.pick(req(t))!.address;
  // `wtd=wt1` in the path or inside another parameter: only the recipe's url_sub sees it.
  equal(where(recipe, "/wtd=wt1/x"), "127.0.0.1:9090");
  equal(where(recipe, "/?a=wtd=wt1"), "127.0.0.1:9090");
  // Two wtd parameters: recipe follows rule order (wt1 first), shorthand the first value.
  equal(where(recipe, "/?wtd=wt2a&wtd=wt1b"), "127.0.0.1:9090");
  equal(where(short, "/?wtd=wt2a&wtd=wt1b"), "127.0.0.1:9091");
  // The shorthand balanced these (round robin: first pick srv1, then srv2).
  equal(where(short, "/wtd=wt2/x"), "127.0.0.1:9090");
  equal(where(short, "/?a=wtd=wt2"), "127.0.0.1:9091");
});

Deno.test("shorthand: longest prefix wins (wt1 vs wt12), unlike url_sub", () => {
  const cfg = config([frontend([], [], "app")], [
    backend("app", [
      server("a", 1, { prefix: "wt1" }),
      server("b", 2, { prefix: "wt12" }),
    ], { affinity: { urlParam: "wtd" } }),
  ]);
  const p = pipeline(cfg);
  assertEquals(
    ["/?wtd=wt1xyz", "/?wtd=wt12xyz", "/?wtd=wt1xyz"].map((t) => p.pick(req(t))!.server),
    ["a", "b", "a"],
  );
});
