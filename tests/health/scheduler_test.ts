// The scheduler against real backends the test starts, kills and restarts (inter 100 ms), and
// against fake checkers for timing properties (spread, no overlap, stop).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Checker, CheckResult } from "../../src/health/checker.ts";
import { describeCheck } from "../../src/health/checker.ts";
import { nextInterval, startHealth } from "../../src/health/scheduler.ts";
import type { ServerConfig } from "../../src/config/model.ts";
import {
  backend,
  config,
  httpServer,
  rawServer,
  recipe,
  server,
  settings,
  storeFor,
  waitFor,
} from "./helpers.ts";

const FAST = { inter: 100, fastinter: 100, downinter: 100 };

Deno.test("scheduler: DOWN after `fall` failed checks, UP after `rise`, tracker follows at once", async () => {
  const be1 = rawServer();
  const be2 = rawServer();
  const port1 = be1.port;
  const cfg = recipe(port1, be2.port, FAST);
  const { store, events } = storeFor(cfg);
  const root = store.server("bck1", "srv1")!;
  const tracker = store.server("bck_lb", "srv1")!;
  const health = startHealth(cfg, store);
  let be1b: ReturnType<typeof rawServer> | null = null;
  try {
    // First success: h jumps to rise+fall-1.
    assert(await waitFor(() => root.healthCounter === 4, 3000), "never fully UP");
    assertEquals(events.length, 0);

    const killedAt = performance.now();
    await be1.close();
    assert(await waitFor(() => root.health === "DOWN", 5000), "never DOWN");
    const downAfter = performance.now() - killedAt;
    // 3 failed checks 100 ms apart: >= ~200 ms, and well under 5 s.
    assert(downAfter >= 150 && downAfter < 3000, `DOWN after ${downAfter} ms`);
    assertEquals(tracker.health, "DOWN");
    assertEquals(tracker.usable, false);
    const down = events.find((e) => e.key === "bck1/srv1" && e.kind === "down")!;
    const via = events.find((e) => e.key === "bck_lb/srv1" && e.kind === "down")!;
    assert(
      down.message.startsWith(
        'Server bck1/srv1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: ',
      ),
      down.message,
    );
    assertEquals(down.level, "alert");
    assertEquals(via.time, down.time); // at once, same tick
    assert(via.message.startsWith("Server bck_lb/srv1 is DOWN via bck1/srv1. 1 active"));
    assertEquals(store.nbsrv(cfg.backends[1]), 0);
    assertEquals(store.nbsrv(cfg.backends[0]), 1);
    assertEquals(root.lastCheck?.ok, false);

    const restartedAt = performance.now();
    be1b = rawServer(undefined, port1);
    assert(await waitFor(() => root.health === "UP", 5000), "never UP again");
    const upAfter = performance.now() - restartedAt;
    // rise = 2 successes, checks every 100 ms (downinter then fastinter).
    assert(upAfter >= 50 && upAfter < 3000, `UP after ${upAfter} ms`);
    assertEquals(tracker.health, "UP");
    const up = events.find((e) => e.key === "bck1/srv1" && e.kind === "up")!;
    assert(up.message.startsWith("Server bck1/srv1 is UP, reason: Layer4 check passed"));
    assertEquals(up.level, "notice");
    assert(events.some((e) => e.message.startsWith("Server bck_lb/srv1 is UP via bck1/srv1.")));
  } finally {
    await health.stop();
    await be1.close();
    await be1b?.close();
    await be2.close();
  }
});

Deno.test("scheduler: HTTP check with option httpchk marks a 500 server DOWN", async () => {
  const be = httpServer(500, "no", "Internal Server Error");
  const cfg = config([
    backend(
      "b",
      [server("s", be.port, { check: true, ...FAST })],
      settings({ httpchk: { method: "GET", uri: "/ping", version: "HTTP/1.0", expect: null } }),
    ),
  ]);
  const { store, events } = storeFor(cfg);
  const health = startHealth(cfg, store);
  try {
    assert(await waitFor(() => store.server("b", "s")!.health === "DOWN", 3000));
    assert(
      events[0].message.includes('Layer7 wrong status, code: 500, info: "Internal Server Error"'),
    );
    assertEquals(be.heads[0], "GET /ping HTTP/1.0\r\n\r\n");
  } finally {
    await health.stop();
    await be.close();
  }
});

/** A fake checker recording start times and concurrency per server. */
function fakeChecker(delayMs: number, ok = true) {
  const starts = new Map<string, number[]>();
  const running = new Map<string, number>();
  let maxConcurrent = 0;
  let aborted = 0;
  const checker: Checker = {
    check(s: ServerConfig, _t: number, opts = {}): Promise<CheckResult> {
      (starts.get(s.name) ?? starts.set(s.name, []).get(s.name)!).push(performance.now());
      const n = (running.get(s.name) ?? 0) + 1;
      running.set(s.name, n);
      maxConcurrent = Math.max(maxConcurrent, n);
      return new Promise((resolve, reject) => {
        const done = () => running.set(s.name, running.get(s.name)! - 1);
        const timer = setTimeout(() => {
          done();
          opts.signal?.removeEventListener("abort", onAbort);
          resolve({
            ok,
            durationMs: delayMs,
            reason: describeCheck(ok ? "L4OK" : "L4TOUT"),
            status: ok ? "L4OK" : "L4TOUT",
          });
        }, delayMs);
        const onAbort = () => {
          clearTimeout(timer);
          done();
          aborted++;
          reject(opts.signal!.reason);
        };
        opts.signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
  return {
    checker,
    starts,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get aborted() {
      return aborted;
    },
  };
}

Deno.test("scheduler: first checks are spread over the first interval", async () => {
  const inter = { inter: 400, fastinter: 400, downinter: 400 };
  const cfg = config([
    backend("b", [0, 1, 2, 3].map((i) => server(`s${i}`, 1000 + i, { check: true, ...inter }))),
  ]);
  const { store } = storeFor(cfg);
  const fake = fakeChecker(1);
  const t0 = performance.now();
  const health = startHealth(cfg, store, { checkerFor: () => fake.checker });
  try {
    assert(await waitFor(() => fake.starts.size === 4, 2000));
    const firsts = [0, 1, 2, 3].map((i) => fake.starts.get(`s${i}`)![0] - t0);
    // Planned at 0, 100, 200, 300 ms; generous margins, but strictly increasing and spread.
    for (let i = 1; i < 4; i++) assert(firsts[i] > firsts[i - 1], JSON.stringify(firsts));
    assert(firsts[3] - firsts[0] >= 200, JSON.stringify(firsts));
    assert(firsts[3] < 1500, JSON.stringify(firsts));
  } finally {
    await health.stop();
  }
});

Deno.test("scheduler: never two checks of one server at once; next check `inter` after the end", async () => {
  const cfg = config([backend("b", [server("s", 1, { check: true, ...FAST, inter: 20 })])]);
  const { store } = storeFor(cfg);
  const fake = fakeChecker(150);
  const health = startHealth(cfg, store, { checkerFor: () => fake.checker });
  try {
    assert(await waitFor(() => (fake.starts.get("s")?.length ?? 0) >= 3, 3000));
    assertEquals(fake.maxConcurrent, 1);
    const s = fake.starts.get("s")!;
    for (let i = 1; i < s.length; i++) assert(s[i] - s[i - 1] >= 140, `gap ${s[i] - s[i - 1]}`);
  } finally {
    await health.stop();
  }
});

Deno.test("scheduler: stop() cancels in-flight checks and timers at once", async () => {
  const cfg = config([
    backend("b", [server("s", 1, { check: true }), server("t", 2, { check: true })]),
  ]);
  const { store, events } = storeFor(cfg);
  const fake = fakeChecker(60_000);
  const health = startHealth(cfg, store, { checkerFor: () => fake.checker });
  assert(await waitFor(() => fake.starts.size >= 1, 3000));
  const t0 = performance.now();
  await health.stop();
  assert(performance.now() - t0 < 500);
  assert(fake.aborted >= 1);
  assertEquals(events.length, 0);
  // (Deno's test sanitizers fail this test if a timer or op were left behind.)
});

Deno.test("scheduler: reload starts new checks, stops removed ones, keeps health", async () => {
  const cfg1 = config([backend("b", [server("s", 1, { check: true, ...FAST })])]);
  const { store } = storeFor(cfg1);
  const fake = fakeChecker(1, false);
  const health = startHealth(cfg1, store, { checkerFor: () => fake.checker });
  try {
    assert(await waitFor(() => store.server("b", "s")!.health === "DOWN", 2000));
    const cfg2 = config([
      backend("b", [server("s", 1, { ...FAST }), server("n", 2, { check: true, ...FAST })]),
    ]);
    store.sync(cfg2);
    health.reload(cfg2);
    // `s` lost its check: UP again (unchecked servers always are), and no longer probed.
    assertEquals(store.server("b", "s")!.health, "UP");
    const before = fake.starts.get("s")!.length;
    assert(await waitFor(() => store.server("b", "n")!.health === "DOWN", 2000));
    await new Promise((r) => setTimeout(r, 250));
    assert(fake.starts.get("s")!.length <= before + 1);
  } finally {
    await health.stop();
  }
});

Deno.test("nextInterval: inter when fully UP, downinter when fully DOWN, fastinter between", () => {
  const cfg = config([
    backend("b", [
      server("s", 1, { check: true, inter: 1000, fastinter: 200, downinter: 5000 }),
    ]),
  ]);
  const { store } = storeFor(cfg);
  const st = store.server("b", "s")!;
  assertEquals(nextInterval(st), 200); // start: h = rise, transitional
  st.healthCounter = 4;
  assertEquals(nextInterval(st), 1000);
  st.healthCounter = 0;
  st.health = "DOWN";
  assertEquals(nextInterval(st), 5000);
  st.healthCounter = 1;
  assertEquals(nextInterval(st), 200);
});
