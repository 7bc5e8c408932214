// The sender worker (src/log/sender.ts): datagrams leave from a dedicated Worker. Order per
// target, the bounded queue, drops inside the worker counted on the main thread, stop()
// flushing and terminating the worker, the fallback to main-thread sends when the worker
// cannot start, and the "main" sender still doing the same. Deno's test sanitizers fail a test
// that leaks a worker, a timer or a socket.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { StateStore } from "../../src/state.ts";
import { createLogging, type Logging, type LoggingOptions } from "../../src/log/logging.ts";
import { ACCEPT, recipeConfig, record, udpCatcher, udpTarget } from "./fixture.ts";

const HDR = "Nov 23 20:02:06 wtproxy[7525]: ";

function start(port: number, opts: LoggingOptions = {}, store = new StateStore()): Logging {
  const config = recipeConfig(port, { targets: [udpTarget(port, "local0")] });
  store.sync(config);
  return createLogging(config, store, { pid: 7525, now: () => ACCEPT, ...opts });
}

/** A real sender worker whose terminate() calls are counted. */
function countingSpawn(): {
  spawn: () => Worker;
  spawned: () => number;
  terminated: () => number;
  errors: () => number;
} {
  let spawned = 0;
  let terminated = 0;
  let errors = 0;
  return {
    spawn: () => {
      spawned++;
      const w = new Worker(new URL("../../src/log/sender_worker.ts", import.meta.url), {
        type: "module",
      });
      w.addEventListener("error", () => errors++);
      const terminate = w.terminate.bind(w);
      w.terminate = () => {
        terminated++;
        terminate();
      };
      return w;
    },
    spawned: () => spawned,
    terminated: () => terminated,
    errors: () => errors,
  };
}

for (const sender of ["worker", "main"] as const) {
  Deno.test(`${sender} sender: lines and events keep their order across batches`, async () => {
    const c = await udpCatcher();
    const store = new StateStore();
    // A small batch interval and many lines: several batches, one FIFO.
    const w = countingSpawn();
    const log = start(c.port, { sender, batchMs: 1, spawn: w.spawn }, store);
    try {
      const want: string[] = [];
      for (let i = 0; i < 120; i++) {
        log.access.request("wt", record({ clientPort: 1000 + i }));
        want.push(`<134>${HDR}127.0.0.1:${1000 + i} [23/Nov/2026:20:02:06.018]`);
        if (i % 40 === 39) await new Promise((r) => setTimeout(r, 3)); // let a batch go
      }
      log.event("alert", "Server bck1/srv1 is DOWN");
      log.event("emerg", "backend bck1 has no server available!");
      const got = await c.waitFor(122);
      assertEquals(got.slice(0, 120).map((l) => l.slice(0, want[0].length)), want);
      assertEquals(got.slice(120), [
        `<129>${HDR}Server bck1/srv1 is DOWN\n`,
        `<128>${HDR}backend bck1 has no server available!\n`,
      ]);
      assertEquals(log.dropped(), 0);
    } finally {
      await log.stop();
      await c.close();
    }
    assertEquals(
      [w.spawned(), w.terminated(), w.errors()],
      sender === "worker" ? [1, 1, 0] : [0, 0, 0],
    );
  });

  Deno.test(`${sender} sender: stop() flushes what is queued before resolving`, async () => {
    const c = await udpCatcher();
    const log = start(c.port, { sender, batchMs: 50 });
    for (let i = 0; i < 100; i++) log.access.request("wt", record({ clientPort: i }));
    await log.stop(); // the 50 ms batch has not been posted yet: stop() posts and flushes it
    assertEquals((await c.waitFor(100)).length, 100);
    assertEquals(log.dropped(), 0);
    // After stop: nothing sent, nothing counted, nothing thrown.
    log.access.request("wt", record());
    assertEquals((await c.settle(100)).length, 100);
    await c.close();
  });

  Deno.test(`${sender} sender: full queue drops at once; send errors are counted`, async () => {
    const c = await udpCatcher();
    const q = start(c.port, { sender, queueLimit: 4 });
    for (let i = 0; i < 50; i++) q.access.request("wt", record());
    assertEquals(q.dropped(), 46); // synchronously, on the request path
    await q.stop();
    assertEquals((await c.waitFor(4)).length, 4);
    assertEquals((await c.settle(50)).length, 4);
    assertEquals(q.dropped(), 46);
    await c.close();

    // Port 0: every send fails in the worker (or on the main thread): counted, visible here.
    const bad = start(0, { sender });
    for (let i = 0; i < 3; i++) bad.access.request("wt", record());
    await bad.stop();
    assertEquals(bad.dropped(), 3);
  });
}

Deno.test("worker sender: drops inside the worker show up before stop()", async () => {
  const store = new StateStore();
  const t = udpTarget(514, "local0", "debug", { host: "nonexistent.invalid" });
  const config = recipeConfig(514, { targets: [t] });
  store.sync(config);
  const log = createLogging(config, store, { sender: "worker" });
  try {
    for (let i = 0; i < 5; i++) log.access.request("wt", record());
    const deadline = Date.now() + 5000;
    while (log.dropped() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assertEquals(log.dropped(), 5);
  } finally {
    await log.stop();
  }
});

Deno.test("worker sender: one worker per Logging, terminated by stop(), re-made after reload", async () => {
  const c = await udpCatcher();
  const w = countingSpawn();
  const log = start(c.port, { spawn: w.spawn });
  try {
    log.access.request("wt", record());
    await c.waitFor(1);
    assertEquals([w.spawned(), w.terminated()], [1, 0]);
    // A reload to stdout only retires the UDP target: its worker goes with it.
    const noTargets = recipeConfig(0, { targets: [] });
    log.reload(noTargets);
    log.reload(recipeConfig(c.port, { targets: [udpTarget(c.port, "local0")] }));
    log.access.request("wt", record({ status: 404 }));
    const got = await c.waitFor(2);
    assert(got[1].includes(" 404 "));
  } finally {
    await log.stop();
    await c.close();
  }
  assertEquals(w.spawned(), w.terminated());
  assert(w.spawned() >= 1);
  assertEquals(w.errors(), 0); // the lines went through the worker, not the fallback
});

Deno.test("worker sender: a worker that cannot start falls back to main-thread sends", async () => {
  const c = await udpCatcher();
  // spawn() throws (e.g. a compiled binary without the worker module).
  const log = start(c.port, {
    spawn: () => {
      throw new Error("no worker");
    },
  });
  try {
    log.access.request("wt", record());
    assertEquals((await c.waitFor(1)).length, 1);
    assertEquals(log.dropped(), 0);
  } finally {
    await log.stop();
  }
  // A worker module that is not there (a `deno compile` binary built without
  // `--include src/log/sender_worker.ts`): what it held is counted as dropped, then the main
  // thread takes over. (Deno prints the worker's error on stderr; the test still passes.)
  const broken = start(c.port, {
    spawn: () =>
      new Worker(new URL("./no_such_sender_worker.ts", import.meta.url), { type: "module" }),
  });
  try {
    broken.access.request("wt", record({ status: 500 }));
    const deadline = Date.now() + 5000;
    while (broken.dropped() < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(broken.dropped(), 1);
    broken.access.request("wt", record({ status: 501 }));
    const got = await c.waitFor(2);
    assert(got[1].includes(" 501 "));
  } finally {
    await broken.stop();
    await c.close();
  }
});
