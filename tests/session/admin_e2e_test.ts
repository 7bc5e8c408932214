// The session table through the real proxy: two demo Wt servers behind the recipe with
// `wt-sessions` on, the admin listener beside it. Sessions are counted per server and shown on
// /api/servers, /api/servers/B/S, /stats.json, /metrics and /api/sessions; their ids never
// appear whole in any admin answer or event.

import { testRuntime } from "../helpers/threads.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

import { startWtServer } from "../../src/demo/wtserver.ts";
import type { StateEvent } from "../../src/state.ts";
import { adminConfig, metric, parsePrometheus, recipeConfig } from "../admin/fixture.ts";
import { loc } from "../helpers/config.ts";

const WT = { param: "wtd", timeout: 600_000, max: 100_000, loc };

/** Opens Wt's push channel through the proxy; resolves with the socket once a tick arrived. */
function openPush(front: number, id: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${front}/?wtd=${id}&request=ws`);
  return new Promise((resolve, reject) => {
    ws.onmessage = () => resolve(ws);
    ws.onerror = () => reject(new Error("push socket failed"));
  });
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise((r) => {
    if (ws.readyState === WebSocket.CLOSED) return r();
    ws.onclose = () => r();
    ws.close();
  });
}

Deno.test("sessions per server on every admin view; ids never shown whole", async () => {
  const wt1 = await startWtServer({ prefix: "wt1", port: 0 });
  const wt2 = await startWtServer({ prefix: "wt2", port: 0 });
  const base = recipeConfig(wt1.port, wt2.port, 0);
  const config = { ...base, global: { ...base.global, wtSessions: WT }, admin: adminConfig() };
  const rt = await testRuntime(config, { logging: false, health: false });
  const events: StateEvent[] = [];
  const off = rt.state.on((e) => events.push(e));
  const a = `http://127.0.0.1:${rt.adminAddr!.port}`;
  const front = rt.listeners[0].port;
  const answers: string[] = [];
  const admin = async (path: string, init?: RequestInit) => {
    const r = await fetch(a + path, init);
    const text = await r.text();
    answers.push(text);
    return { status: r.status, text };
  };
  const sockets: WebSocket[] = [];
  try {
    // Three new sessions (round robin: wt1, wt2, wt1), each with its boot script request.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await fetch(`http://127.0.0.1:${front}/`);
      await page.body?.cancel();
      const id = page.headers.get("x-wt-session")!;
      ids.push(id);
      // Not live yet: the page GET carried no id.
      const script = await fetch(`http://127.0.0.1:${front}/?wtd=${id}&request=script`);
      await script.body?.cancel();
    }
    assertEquals(ids.map((id) => id.slice(0, 3)), ["wt1", "wt2", "wt1"]);
    sockets.push(await openPush(front, ids[0]));

    const one = JSON.parse((await admin("/api/servers/bck1/srv1")).text);
    assertEquals([one.sessions, one.drained], [2, false]);
    const all = JSON.parse((await admin("/api/servers")).text) as {
      key: string;
      sessions: number;
    }[];
    assertEquals(
      Object.fromEntries(all.map((s) => [s.key, s.sessions])),
      { "bck_lb/srv1": 2, "bck_lb/srv2": 1, "bck1/srv1": 2, "bck2/srv2": 1 },
    );
    const stats = JSON.parse((await admin("/stats.json")).text);
    const lb = stats.backends.find((b: { name: string }) => b.name === "bck_lb");
    assertEquals(lb.sessions, 3);
    assertEquals(lb.servers.map((s: { sessions: number }) => s.sessions), [2, 1]);
    const m = parsePrometheus((await admin("/metrics")).text);
    assertEquals(metric(m, "wtproxy_server_wt_sessions", { proxy: "bck1", server: "srv1" }), 2);
    assertEquals(metric(m, "wtproxy_server_wt_sessions", { proxy: "bck_lb", server: "srv2" }), 1);

    const list = JSON.parse((await admin("/api/sessions?server=bck1/srv1")).text);
    assertEquals(list.server, "bck1/srv1");
    assertEquals(list.sessions.length, 2);
    const byId = new Map(list.sessions.map((s: { id: string }) => [s.id, s]));
    const first = byId.get(ids[0].slice(0, 7) + "…") as Record<string, unknown>;
    assertEquals([first.requests, first.websocket], [2, true]);
    assert(typeof first.firstSeen === "number" && typeof first.lastSeen === "number");
    const third = byId.get(ids[2].slice(0, 7) + "…") as Record<string, unknown>;
    assertEquals([third.requests, third.websocket], [1, false]);
    assertEquals((await admin("/api/sessions")).status, 400);
    assertEquals((await admin("/api/sessions?server=bck1/nope")).status, 404);

    // The socket closes: still live (the timeout runs), no longer with a WebSocket.
    await closed(sockets.pop()!);
    for (let i = 0; i < 50; i++) {
      const l = JSON.parse((await admin("/api/sessions?server=bck1/srv1")).text);
      if (l.sessions.every((s: { websocket: boolean }) => !s.websocket)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(JSON.parse((await admin("/api/servers/bck1/srv1")).text).sessions, 2);

    // Drain and MAINT: events and answers carry no whole id either.
    await admin("/api/servers/bck2/srv2/state", {
      method: "POST",
      body: JSON.stringify({ state: "maint" }),
    });
    assertEquals(JSON.parse((await admin("/api/servers/bck2/srv2")).text).sessions, 0);
    await admin("/stats");

    const everything = answers.join("\n") + "\n" + events.map((e) => JSON.stringify(e)).join("\n");
    for (const id of ids) {
      assert(!everything.includes(id), `a whole session id (${id.slice(0, 7)}…) was shown`);
      assert(!everything.includes(id.slice(0, 8)), "more than the prefix and 4 characters");
    }
  } finally {
    off();
    for (const ws of sockets) await closed(ws);
    await rt.stop(500);
    await wt1.stop();
    await wt2.stop();
  }
});
