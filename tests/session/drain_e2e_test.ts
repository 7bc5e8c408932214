// Drain until the sessions are gone, end to end: two demo Wt servers behind `affinity` with
// `balance: sessions` and a short session timeout. A session on wt1 keeps working through the
// drain (same server, pushes over its WebSocket, no reload instruction), new sessions land on
// wt2, and once that session ended `drained` fires and the waiting API call answers.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startRuntime } from "../../src/runtime.ts";
import { startWtServer } from "../../src/demo/wtserver.ts";
import type { StateEvent } from "../../src/state.ts";
import { adminConfig } from "../admin/fixture.ts";
import { backend, bind, config, frontend, loc, server } from "../helpers/config.ts";

const TIMEOUT_MS = 1500;

Deno.test("drain: wt1's session keeps working, new ones go to wt2, the wait answers when drained", async () => {
  const wt1 = await startWtServer({ prefix: "wt1", port: 0 });
  const wt2 = await startWtServer({ prefix: "wt2", port: 0 });
  const base = config(
    [frontend([], [], "app", { binds: [bind()] })],
    [backend("app", [
      server("srv1", wt1.port, { prefix: "wt1" }),
      server("srv2", wt2.port, { prefix: "wt2" }),
    ], { affinity: { urlParam: "wtd" }, balance: { algorithm: "sessions", param: null } })],
  );
  const cfg = {
    ...base,
    global: { ...base.global, wtSessions: { param: "wtd", timeout: TIMEOUT_MS, max: 1000, loc } },
    admin: adminConfig(),
  };
  const rt = await startRuntime(cfg, { logging: false, health: false });
  const events: StateEvent[] = [];
  const off = rt.state.on((e) => events.push(e));
  const front = `http://127.0.0.1:${rt.listeners[0].port}`;
  const admin = `http://127.0.0.1:${rt.adminAddr!.port}`;
  const newSession = async () => {
    const r = await fetch(front + "/");
    await r.body?.cancel();
    const id = r.headers.get("x-wt-session")!;
    const s = await fetch(`${front}/?wtd=${id}&request=script`);
    await s.body?.cancel();
    return id;
  };
  const update = async (id: string) => {
    const r = await fetch(`${front}/?wtd=${id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "request=jsupdate",
    });
    return { server: r.headers.get("x-wt-server"), body: await r.text() };
  };
  const drain = (wait: string) =>
    fetch(`${admin}/api/servers/app/srv1/state`, {
      method: "POST",
      body: JSON.stringify({ state: "drain", wait }),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  let ws: WebSocket | null = null;
  try {
    const a = await newSession();
    const b = await newSession();
    assertEquals([a.slice(0, 3), b.slice(0, 3)], ["wt1", "wt2"]);

    // The session's push channel through the proxy, ticks counted.
    let ticks = 0;
    let tickServer = "";
    ws = new WebSocket(`${front.replace("http", "ws")}/?wtd=${a}&request=ws`);
    await new Promise<void>((resolve, reject) => {
      ws!.onmessage = (e) => {
        ticks++;
        tickServer = JSON.parse(e.data).server;
        resolve();
      };
      ws!.onerror = () => reject(new Error("push socket failed"));
    });

    // A short wait while the session lives: 409 with the sessions left.
    const early = await drain("300ms");
    assertEquals(early.status, 409);
    assertEquals([early.body.sessions, early.body.drained, early.body.admin], [1, false, "DRAIN"]);

    // Draining: wt1's session keeps its server (no reload), new sessions go to wt2.
    const waiting = drain("20s");
    for (let i = 0; i < 3; i++) {
      const u = await update(a);
      assertEquals(u.server, "wt1");
      assert(u.body.startsWith("wtUpdate("), u.body);
      assertEquals((await newSession()).slice(0, 3), "wt2");
    }
    const before = ticks;
    await new Promise((r) => setTimeout(r, 1200));
    assert(ticks > before, "pushes keep arriving during the drain");
    assertEquals(tickServer, "wt1");
    assert(!events.some((e) => e.kind === "drained"), "not drained while the session lives");

    // The user leaves: the socket closes, no more requests; after the timeout wt1 is drained.
    const t0 = Date.now();
    ws.close();
    ws = null;
    const done = await waiting;
    assert(Date.now() - t0 >= TIMEOUT_MS - 100, "answered only after the session timed out");
    assertEquals(done.status, 200);
    assertEquals([done.body.drained, done.body.sessions, done.body.admin], [true, 0, "DRAIN"]);
    assert(typeof done.body.waitedMs === "number");
    assertEquals(
      events.filter((e) => e.kind === "drained").map((e) => [e.level, e.message]),
      [["notice", "Server app/srv1 is drained: no Wt session left"]],
    );
    const view = await (await fetch(`${admin}/api/servers/app/srv1`)).json();
    assertEquals([view.drained, view.sessions], [true, 0]);
    // Already drained: the wait answers at once.
    const again = await drain("5s");
    assertEquals([again.status, again.body.drained], [200, true]);
  } finally {
    off();
    ws?.close();
    await rt.stop(500);
    await wt1.stop();
    await wt2.stop();
  }
});
