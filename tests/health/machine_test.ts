// The state machine without sockets: rise/fall, initial state, track chains, admin states,
// passive marking, nbsrv, and the HAProxy wording and level of every event.

import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { describeCheck } from "../../src/health/checker.ts";
import type { CheckResult } from "../../src/health/checker.ts";
import {
  applyCheckResult,
  reportConnectFailure,
  serverStatus,
  setAdminState,
  setWeight,
} from "../../src/health/machine.ts";
import { backend, config, recipe, server, storeFor } from "./helpers.ts";

const OK: CheckResult = {
  ok: true,
  durationMs: 0,
  reason: describeCheck("L4OK"),
  status: "L4OK",
};
const REFUSED: CheckResult = {
  ok: false,
  durationMs: 0,
  reason: describeCheck("L4CON", undefined, "Connection refused"),
  status: "L4CON",
};

function single(o = {}) {
  const cfg = config([backend("b", [server("s", 1, { check: true, ...o })])]);
  const { store, events } = storeFor(cfg);
  return { store, events, st: store.server("b", "s")!, bk: cfg.backends[0] };
}

Deno.test("initial state: UP with h = rise, and the first failure brings it DOWN", () => {
  const { store, st, events, bk } = single();
  assertEquals([st.health, st.healthCounter, serverStatus(st)], ["UP", 2, "UP 1/3"]);
  assertEquals(store.nbsrv(bk), 1);
  applyCheckResult(store, st, REFUSED);
  assertEquals([st.health, st.healthCounter, serverStatus(st)], ["DOWN", 0, "DOWN"]);
  assertEquals(store.nbsrv(bk), 0);
  assertEquals(events.map((e) => [e.kind, e.level, e.message]), [
    [
      "down",
      "alert",
      'Server b/s is DOWN, reason: Layer4 connection problem, info: "Connection refused", ' +
      "check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, " +
      "0 remaining in queue.",
    ],
    ["no-server", "emerg", "backend b has no server available!"],
  ]);
  assertEquals(st.failedChecks, 1);
  assertEquals(st.downTransitions, 1);
  assertEquals(st.lastCheck?.info, REFUSED.reason);
});

Deno.test("after the first success it takes `fall` failures, then `rise` successes", () => {
  const { store, st, events } = single({ rise: 2, fall: 3 });
  const seq: [CheckResult, string][] = [
    [OK, "UP"], // h jumps to rise+fall-1 = 4
    [REFUSED, "UP 2/3"],
    [REFUSED, "UP 1/3"],
    [OK, "UP"], // a success in between resets to full health
    [REFUSED, "UP 2/3"],
    [REFUSED, "UP 1/3"],
    [REFUSED, "DOWN"],
    [REFUSED, "DOWN"],
    [OK, "DOWN 1/2"],
    [REFUSED, "DOWN"], // successes must be consecutive
    [OK, "DOWN 1/2"],
    [OK, "UP"],
  ];
  for (const [i, [r, want]] of seq.entries()) {
    applyCheckResult(store, st, r);
    assertEquals(serverStatus(st), want, `step ${i}`);
  }
  assertEquals(events.map((e) => e.kind), ["down", "no-server", "up"]);
  assertEquals(
    events[2].message,
    "Server b/s is UP, reason: Layer4 check passed, check duration: 0ms. 1 active and 0 backup " +
      "servers online. 0 sessions requeued, 0 total in queue.",
  );
  assertEquals(events[2].level, "notice");
  assertEquals(st.failedChecks, 6); // failures counted only while h > 0
});

Deno.test("rise 1 / fall 1 flip on every result", () => {
  const { store, st } = single({ rise: 1, fall: 1 });
  applyCheckResult(store, st, REFUSED);
  assertEquals(st.health, "DOWN");
  applyCheckResult(store, st, OK);
  assertEquals([st.health, serverStatus(st)], ["UP", "UP"]);
  applyCheckResult(store, st, REFUSED);
  assertEquals(st.health, "DOWN");
});

Deno.test("track: trackers follow at once, chains too, with `via` messages", () => {
  const cfg = config([
    backend("bck1", [server("srv1", 1, { check: true })]),
    backend("bck_lb", [
      server("srv1", 1, { track: { backend: "bck1", server: "srv1" } }),
      server("srv2", 2),
    ]),
    backend("chain", [server("c", 1, { track: { backend: "bck_lb", server: "srv1" } })]),
  ]);
  const { store, events } = storeFor(cfg);
  const root = store.server("bck1", "srv1")!;
  const lb = store.server("bck_lb", "srv1")!;
  const chain = store.server("chain", "c")!;
  applyCheckResult(store, root, OK);
  applyCheckResult(store, root, REFUSED);
  applyCheckResult(store, root, REFUSED);
  applyCheckResult(store, root, REFUSED);
  assertEquals([root.health, lb.health, chain.health], ["DOWN", "DOWN", "DOWN"]);
  assertEquals([lb.usable, chain.usable], [false, false]);
  assertEquals(serverStatus(lb), "DOWN");
  assertEquals(events.map((e) => [e.level, e.message.replace(/ \d+ sessions.*/, "")]), [
    [
      "alert",
      'Server bck1/srv1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", ' +
      "check duration: 0ms. 0 active and 0 backup servers left.",
    ],
    ["emerg", "backend bck1 has no server available!"],
    ["alert", "Server bck_lb/srv1 is DOWN via bck1/srv1. 1 active and 0 backup servers left."],
    ["alert", "Server chain/c is DOWN via bck_lb/srv1. 0 active and 0 backup servers left."],
    ["emerg", "backend chain has no server available!"],
  ]);
  events.length = 0;
  applyCheckResult(store, root, OK);
  applyCheckResult(store, root, OK);
  assertEquals([root.health, lb.health, chain.health], ["UP", "UP", "UP"]);
  assertEquals(events.map((e) => [e.level, e.message]), [
    [
      "notice",
      "Server bck1/srv1 is UP, reason: Layer4 check passed, check duration: 0ms. 1 active and " +
      "0 backup servers online. 0 sessions requeued, 0 total in queue.",
    ],
    [
      "notice",
      "Server bck_lb/srv1 is UP via bck1/srv1. 2 active and 0 backup servers online. " +
      "0 sessions requeued, 0 total in queue.",
    ],
    [
      "notice",
      "Server chain/c is UP via bck_lb/srv1. 1 active and 0 backup servers online. " +
      "0 sessions requeued, 0 total in queue.",
    ],
  ]);
});

Deno.test("admin: DRAIN and MAINT are inherited, words as HAProxy 2.6.12 logs them", () => {
  const cfg = recipe(1, 2);
  const { store, events } = storeFor(cfg);
  const bck1 = cfg.backends.find((b) => b.name === "bck1")!;
  const lb = cfg.backends.find((b) => b.name === "bck_lb")!;
  const root = store.server("bck1", "srv1")!;
  const tr = store.server("bck_lb", "srv1")!;
  applyCheckResult(store, root, OK);

  setAdminState(store, "bck1/srv1", "DRAIN");
  assertEquals([root.effectiveAdmin, tr.effectiveAdmin], ["DRAIN", "DRAIN"]);
  assertEquals([store.nbsrv(bck1), store.nbsrv(lb)], [0, 1]); // headline fact 10
  assertEquals(serverStatus(tr), "DRAIN (via bck1/srv1)");
  setAdminState(store, "bck1/srv1", "READY");
  setAdminState(store, "bck1/srv1", "MAINT");
  assertEquals(serverStatus(tr), "MAINT (via bck1/srv1)");
  assertEquals([store.nbsrv(bck1), store.nbsrv(lb)], [0, 1]);
  setAdminState(store, "bck1/srv1", "READY");
  assertEquals(serverStatus(root), "UP 1/3"); // leaving MAINT: one failure from DOWN
  assertEquals(store.nbsrv(bck1), 1);

  assertEquals(events.map((e) => [e.kind, e.level, e.message]), [
    [
      "admin",
      "notice",
      "Server bck1/srv1 enters drain state. 0 active and 0 backup servers online. " +
      "0 sessions requeued, 0 total in queue.",
    ],
    ["no-server", "emerg", "backend bck1 has no server available!"],
    [
      "admin",
      "notice",
      "Server bck_lb/srv1 enters drain state via bck1/srv1. 1 active and 0 backup servers " +
      "online. 0 sessions requeued, 0 total in queue.",
    ],
    ["admin", "notice", "Server bck1/srv1 is UP (leaving forced drain)."],
    ["admin", "notice", "Server bck_lb/srv1 is UP (leaving forced drain)."],
    [
      "admin",
      "notice",
      "Server bck1/srv1 is going DOWN for maintenance. 0 active and 0 backup servers left. " +
      "0 sessions active, 0 requeued, 0 remaining in queue.",
    ],
    ["no-server", "emerg", "backend bck1 has no server available!"],
    [
      "admin",
      "notice",
      "Server bck_lb/srv1 is going DOWN for maintenance via bck1/srv1. 1 active and 0 backup " +
      "servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
    ],
    ["admin", "notice", "Server bck1/srv1 is UP/READY (leaving forced maintenance)."],
    ["admin", "notice", "Server bck_lb/srv1 is UP/READY (leaving maintenance)."],
  ]);
  // One failure after leaving MAINT is enough to go DOWN again.
  applyCheckResult(store, root, REFUSED);
  assertEquals(root.health, "DOWN");
});

Deno.test("admin: a DOWN server entering MAINT, checks ignored in MAINT, leaving comes UP", () => {
  const { store, st, events } = single();
  applyCheckResult(store, st, REFUSED);
  events.length = 0;
  setAdminState(store, "b/s", "MAINT");
  assertEquals(events.map((e) => e.message), ["Server b/s was DOWN and now enters maintenance."]);
  applyCheckResult(store, st, OK);
  applyCheckResult(store, st, OK);
  assertEquals([st.health, st.healthCounter], ["DOWN", 0]); // paused
  setAdminState(store, "b/s", "READY");
  assertEquals([st.health, serverStatus(st)], ["UP", "UP 1/3"]);
  assertEquals(events.at(-1)!.message, "Server b/s is UP/READY (leaving forced maintenance).");
});

Deno.test("admin: a disabled server starts in MAINT; unknown keys and bad values throw", () => {
  const { store, st } = single({ disabled: true });
  assertEquals([st.admin, st.usable, serverStatus(st)], ["MAINT", false, "MAINT"]);
  throws(() => setAdminState(store, "b/nope", "MAINT"), /No such server/);
  throws(() => setWeight(store, "b/s", 257), /Invalid weight/);
  throws(() => setWeight(store, "b/s", 1.5), /Invalid weight/);
});

Deno.test("weight 0 makes a server unusable (nbsrv) without touching health", () => {
  const cfg = config([backend("b", [server("s", 1, { check: true }), server("t", 2)])]);
  const { store, events } = storeFor(cfg);
  setWeight(store, "b/s", 0);
  assertEquals([store.server("b", "s")!.health, store.nbsrv(cfg.backends[0])], ["UP", 1]);
  setWeight(store, "b/t", 0);
  assertEquals(store.nbsrv(cfg.backends[0]), 0);
  assertEquals(events.map((e) => [e.kind, e.message]), [
    ["weight", "Server b/s weight changed from 1 to 0."],
    ["weight", "Server b/t weight changed from 1 to 0."],
    ["no-server", "backend b has no server available!"],
  ]);
  setWeight(store, "b/s", 3);
  assertEquals([store.server("b", "s")!.weight, store.nbsrv(cfg.backends[0])], [3, 1]);
});

Deno.test("nbsrv: backups count as 1 only when no active server is usable", () => {
  const cfg = config([
    backend("b", [
      server("a", 1, { check: true }),
      server("k1", 2, { check: true, backup: true }),
      server("k2", 3, { backup: true }),
    ]),
  ]);
  const { store, events } = storeFor(cfg);
  assertEquals(store.nbsrv(cfg.backends[0]), 1);
  applyCheckResult(store, store.server("b", "a")!, REFUSED);
  assertEquals(store.nbsrv(cfg.backends[0]), 1);
  assert(events[0].message.includes("0 active and 2 backup servers left. Running on backup."));
  applyCheckResult(store, store.server("b", "k1")!, REFUSED);
  assert(events[1].message.startsWith("Backup Server b/k1 is DOWN"));
  assertEquals(store.nbsrv(cfg.backends[0]), 1);
  setAdminState(store, "b/k2", "MAINT");
  assertEquals(store.nbsrv(cfg.backends[0]), 0);
});

Deno.test("passive: a refused connect takes a checked server DOWN at once", () => {
  const cfg = recipe(1, 2);
  const { store, events } = storeFor(cfg);
  const root = store.server("bck1", "srv1")!;
  applyCheckResult(store, root, OK); // fully UP: would need 3 failed checks
  reportConnectFailure(store, root, "Connection refused");
  assertEquals([root.health, root.healthCounter], ["DOWN", 0]);
  assertEquals(store.server("bck_lb", "srv1")!.usable, false);
  assertEquals(
    events[0].message,
    'Server bck1/srv1 is DOWN, reason: Health analyze, info: "Detected 1 consecutive errors, ' +
      'last one was: L4 unsuccessful connection (Connection refused)". 0 active and 0 backup ' +
      "servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
  );
  assertEquals(events.map((e) => e.kind), ["down", "no-server", "down"]);
  // Already DOWN: nothing more. Back only through checks: rise successes.
  reportConnectFailure(store, root, "Connection refused");
  assertEquals(events.length, 3);
  applyCheckResult(store, root, OK);
  assertEquals(root.health, "DOWN");
  applyCheckResult(store, root, OK);
  assertEquals(root.health, "UP");
});

Deno.test("passive: a tracker marks the server it tracks; unchecked servers stay UP", () => {
  const cfg = recipe(1, 2);
  const { store } = storeFor(cfg);
  reportConnectFailure(store, store.server("bck_lb", "srv2")!, "Connection timed out");
  assertEquals(store.server("bck2", "srv2")!.health, "DOWN");
  assertEquals(store.server("bck_lb", "srv2")!.usable, false);
  assertEquals(store.server("bck_lb", "srv1")!.usable, true);

  const plain = config([backend("b", [server("s", 1)])]);
  const p = storeFor(plain);
  reportConnectFailure(p.store, p.store.server("b", "s")!, "Connection refused");
  assertEquals([p.store.server("b", "s")!.health, p.events.length], ["UP", 0]);
  // MAINT servers are left alone
  const m = single();
  setAdminState(m.store, "b/s", "MAINT");
  reportConnectFailure(m.store, m.st, "Connection refused");
  assertEquals(m.st.health, "UP");
});

Deno.test("reload: state survives sync, counters clamp to new rise/fall", () => {
  const cfg = recipe(1, 2);
  const { store } = storeFor(cfg);
  const root = store.server("bck1", "srv1")!;
  applyCheckResult(store, root, OK);
  assertEquals(root.healthCounter, 4);
  store.sync(recipe(1, 2, { rise: 1, fall: 1 }));
  assert(store.server("bck1", "srv1") === root);
  assertEquals([root.health, root.healthCounter], ["UP", 1]);
  assert(store.server("bck_lb", "srv1")!.tracks === root);
});
