// The Balancer around the policies: usable filtering, exclude (redispatch), backups.
import { deepStrictEqual as assertEquals, equal, throws } from "node:assert/strict";
import { createBalancer } from "../../src/balance/create.ts";
import { StateStore } from "../../src/state.ts";
import { backend, config, frontend, server } from "../helpers/config.ts";
import { req } from "./fixture.ts";

function setup(algorithm = "roundrobin") {
  const be = backend("b", [
    server("s1", 1),
    server("s2", 2),
    server("bk1", 3, { backup: true }),
    server("bk2", 4, { backup: true }),
  ], { balance: { algorithm, param: null } });
  const store = new StateStore();
  store.sync(config([frontend([], [], "b")], [be]));
  return { store, bal: createBalancer(be, store), st: (n: string) => store.server("b", n)! };
}

const pickNames = (bal: ReturnType<typeof createBalancer>, n: number, ex?: Set<string>) =>
  Array.from({ length: n }, () => bal.pick(req("/"), ex)?.config.name ?? null);

Deno.test("balancer: only usable servers (DOWN, MAINT, DRAIN, weight 0 are skipped)", () => {
  const { bal, st } = setup();
  assertEquals(pickNames(bal, 4), ["s1", "s2", "s1", "s2"]);
  const cases: [string, (st: ReturnType<typeof setup>["st"]) => void][] = [
    ["DOWN", (st) => (st("s1").health = "DOWN")],
    ["MAINT", (st) => (st("s1").admin = "MAINT")],
    ["DRAIN", (st) => (st("s1").admin = "DRAIN")],
    ["weight 0", (st) => (st("s1").weight = 0)],
  ];
  for (const [what, change] of cases) {
    const fresh = setup();
    change(fresh.st);
    assertEquals(pickNames(fresh.bal, 3), ["s2", "s2", "s2"], what);
  }
  // And back: a READY, UP server with weight rejoins.
  st("s1").admin = "DRAIN";
  assertEquals(pickNames(bal, 3), ["s2", "s2", "s2"]);
  st("s1").admin = "READY";
  st("s1").weight = 0;
  assertEquals(pickNames(bal, 2), ["s2", "s2"]);
  st("s1").weight = 1;
  assertEquals(pickNames(bal, 2).sort(), ["s1", "s2"]);
  equal(bal.servers.length, 4);
});

Deno.test("balancer: exclude set (redispatch) skips servers that already failed", () => {
  const { bal } = setup();
  assertEquals(pickNames(bal, 3, new Set(["b/s1"])), ["s2", "s2", "s2"]);
  // Every active server excluded: the first backup.
  assertEquals(pickNames(bal, 2, new Set(["b/s1", "b/s2"])), ["bk1", "bk1"]);
  assertEquals(pickNames(bal, 1, new Set(["b/s1", "b/s2", "b/bk1"])), ["bk2"]);
});

Deno.test("balancer: backups only when no non-backup server is usable; first backup", () => {
  const { bal, st } = setup();
  st("s1").health = "DOWN";
  assertEquals(pickNames(bal, 2), ["s2", "s2"]);
  st("s2").health = "DOWN";
  assertEquals(pickNames(bal, 3), ["bk1", "bk1", "bk1"]);
  st("bk1").admin = "MAINT";
  assertEquals(pickNames(bal, 2), ["bk2", "bk2"]);
  st("bk2").health = "DOWN";
  assertEquals(pickNames(bal, 1), [null]);
  st("s2").health = "UP";
  assertEquals(pickNames(bal, 2), ["s2", "s2"]);
});

Deno.test("balancer: every policy works behind it; random(3) form; unknown algorithm throws", () => {
  for (const a of ["roundrobin", "static-rr", "leastconn", "first", "source", "uri", "random(3)"]) {
    const { bal } = setup(a);
    const got = pickNames(bal, 10);
    equal(got.every((n) => n === "s1" || n === "s2"), true, `${a}: ${got}`);
  }
  throws(() => setup("fastest"), /unknown balance algorithm 'fastest'/);
});

Deno.test("balancer: option allbackups balances over every usable backup (HAProxy's allbackups)", async () => {
  const { settings } = await import("../helpers/config.ts");
  const be = backend("b", [
    server("s1", 1),
    server("bk1", 3, { backup: true }),
    server("bk2", 4, { backup: true }),
  ], { settings: settings({ options: { allbackups: true } }) });
  const store = new StateStore();
  store.sync(config([frontend([], [], "b")], [be]));
  const bal = createBalancer(be, store);
  assertEquals(pickNames(bal, 2), ["s1", "s1"]);
  store.server("b", "s1")!.health = "DOWN";
  assertEquals(pickNames(bal, 4), ["bk1", "bk2", "bk1", "bk2"]);
  store.server("b", "bk1")!.admin = "MAINT";
  assertEquals(pickNames(bal, 2), ["bk2", "bk2"]);
});
