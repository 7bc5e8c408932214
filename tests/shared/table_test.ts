// The shared state table when a reload makes it grow: a worker keeps counting on the old table
// until it is handed the new one; nothing it counted in between may be lost.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { C, G, SharedTable } from "../../src/shared/table.ts";

Deno.test("table growth: a worker's counts made after the copy are carried over", () => {
  const control = SharedTable.create(64, 3, true); // control plane + 2 workers
  const slot = control.slot("s:b/s1")!;
  const cur = control.gaugeBase(slot) + G.current;
  const w1 = SharedTable.attach(control.describe(), 1);
  const w2 = SharedTable.attach(control.describe(), 2);
  const req1 = w1.counterBase(slot) + C.requests;

  // Before the reload: worker 1 holds 3 connections, worker 2 holds 1; 7 requests counted.
  for (let i = 0; i < 3; i++) w1.add(cur, 1);
  w2.add(cur, 1);
  w1.counters[req1] = 7;

  // The reload grows the table (a copy); the workers do not have it yet.
  const grown = control.grown(200);
  // Meanwhile worker 1 closes 2 connections, opens 1 and counts 5 more requests.
  w1.add(cur, -2);
  w1.add(cur, 1);
  w1.counters[req1] += 5;
  assertEquals(grown.gauges[cur], 4); // the copy did not see them

  // Each worker moves to the grown table.
  const n1 = SharedTable.attach(grown.describe(), 1);
  n1.carryOver(w1);
  const n2 = SharedTable.attach(grown.describe(), 2);
  n2.carryOver(w2);
  assertEquals(n1.gauges[cur], 3); // 2 held by worker 1 + 1 by worker 2
  assertEquals(n1.counters[n1.counterBase(slot) + C.requests], 12);
  assertEquals(grown.counters[grown.counterBase(slot, 1) + C.requests], 12); // the control plane's view

  // Worker 1 closes its 2: the count is back to worker 2's one, not off by what was lost.
  n1.add(cur, -2);
  assertEquals(grown.gauges[cur], 1);
  // A worker that dies gives back exactly what it still held.
  grown.release(2);
  assertEquals(grown.gauges[cur], 0);
});
