// The session table with DNS-discovered servers (server-template slots over an SRV name, the
// real discovery engine with a scripted resolver): each slot is its own Wt process although
// every slot has the same configured name, counts follow the prefixes discovery derives at run
// time (no reload), and a slot that moves to another address or vanishes loses its sessions
// (counted, on the event line, in the admin views); a worker's replica forgets them too.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { startDiscovery } from "../../src/discovery/discovery.ts";
import { localAddressSink } from "../../src/discovery/sink.ts";
import { DEFAULT_WT_SESSIONS, WtSessionTable } from "../../src/session/table.ts";
import { SessionReplica } from "../../src/session/replica.ts";
import { backendView } from "../../src/admin/snapshot.ts";
import { type StateEvent, StateStore } from "../../src/state.ts";
import { backend, config, loc } from "../helpers/config.ts";
import { resolvers, ScriptedResolver, slots, srv } from "../discovery/helpers.ts";

const SRV = "_wt._tcp.wt.test";
const A = "wt0Ab3xQ9zLm2Kp7Rt4V";
const B = "wt1Zz9yP0aBcDeFgHiJk";
const C = "wt2Qw8eR7tY6uI5oP4aS";

async function setup() {
  const base = config(
    [],
    [backend("app", slots("wt", 3, SRV, 0, {}, { prefixFrom: "dns-label" }), {
      affinity: { urlParam: "wtd" },
    })],
    { resolvers: [resolvers([{ host: "127.0.0.1", port: 53 }])] },
  );
  const cfg = {
    ...base,
    global: {
      ...base.global,
      wtSessions: { param: "wtd", timeout: 600_000, max: 100_000, loc },
    },
  };
  const store = new StateStore();
  store.sync(cfg);
  const events: StateEvent[] = [];
  store.on((e) => events.push(e));
  const table = new WtSessionTable(store, { ...DEFAULT_WT_SESSIONS }, cfg, {
    tickMs: 3_600_000,
  });
  // A worker's replica, fed the same observations and the same state events.
  const replica = new SessionReplica(cfg, Date.now, store.servers);
  store.on((e) => replica.stateEvent(e));
  const dns = new ScriptedResolver();
  dns.srvs.set(SRV, [srv("wt-0.wt.test", 9001), srv("wt-1.wt.test", 9002)]);
  dns.a.set("wt-0.wt.test", ["10.0.0.1"]);
  dns.a.set("wt-1.wt.test", ["10.0.0.2"]);
  const d = await startDiscovery(cfg, store, localAddressSink(store, null), {
    resolverFor: () => dns,
  });
  await d.refresh();
  const seen = (server: string, id: string) => {
    table.answered(server, id);
    replica.answered(server, id);
  };
  const counts = () =>
    ["wt1", "wt2", "wt3"].map((s) => {
      const st = store.servers.get(`app/${s}`)!;
      return `${s} ${st.dns?.prefix ?? "-"} live ${st.wtSessions} lost ${st.wtSessionsLost}`;
    });
  const lost = () =>
    events.splice(0).filter((e) => e.kind === "sessions-lost").map((e) => e.message);
  return { cfg, store, table, replica, dns, d, seen, counts, lost };
}

Deno.test("discovered slots are Wt processes of their own, counted by their derived prefixes", async () => {
  const t = await setup();
  try {
    t.seen("app/wt1", A);
    t.seen("app/wt2", B);
    // Not their prefix: a wt1 id answered by the wt0 slot, a wt0 id by an empty slot.
    t.seen("app/wt1", B);
    t.seen("app/wt3", A);
    t.seen("app/wt2", A);
    assertEquals(t.counts(), [
      "wt1 wt0 live 1 lost 0",
      "wt2 wt1 live 1 lost 0",
      "wt3 - live 0 lost 0",
    ]);
    assertEquals(t.table.list("app/wt1").map((v) => v.id), ["wt0Ab3x…"]);
    assertEquals([t.replica.isLive("app/wt1", A), t.replica.isLive("app/wt2", A)], [true, false]);
    // A server appears under traffic: its slot takes its prefix without a reload.
    t.dns.srvs.set(SRV, [
      srv("wt-0.wt.test", 9001),
      srv("wt-1.wt.test", 9002),
      srv("wt-2.wt.test", 9003),
    ]);
    t.dns.a.set("wt-2.wt.test", ["10.0.0.3"]);
    await t.d.refresh();
    t.seen("app/wt3", A); // still not its prefix
    t.seen("app/wt3", C);
    assertEquals(t.counts(), [
      "wt1 wt0 live 1 lost 0",
      "wt2 wt1 live 1 lost 0",
      "wt3 wt2 live 1 lost 0",
    ]);
    const v = backendView(t.cfg.backends[0], t.store, undefined, false, true);
    assertEquals([v.sessions, v.sessionsLost], [3, 0]);
    assertEquals(t.lost(), []);
  } finally {
    t.table.stop();
    await t.d.stop();
  }
});

Deno.test("a discovered slot that moves or vanishes loses its sessions", async () => {
  const t = await setup();
  try {
    t.seen("app/wt1", A);
    t.seen("app/wt2", B);
    t.seen("app/wt2", "wt1SecondSession0000");
    // wt-1 moves to another address: a new Wt process, the sessions of the old one are lost.
    t.dns.a.set("wt-1.wt.test", ["10.0.0.9"]);
    await t.d.refresh();
    assertEquals(t.counts(), [
      "wt1 wt0 live 1 lost 0",
      "wt2 wt1 live 0 lost 2",
      "wt3 - live 0 lost 0",
    ]);
    assertEquals(t.lost(), [
      "Server app/wt2 lost 2 Wt sessions (changed its IP from 10.0.0.2 to 10.0.0.9).",
    ]);
    assertEquals(t.replica.isLive("app/wt2", B), false);
    // The new process takes sessions again.
    t.seen("app/wt2", B);
    assertEquals(t.store.servers.get("app/wt2")!.wtSessions, 1);
    // wt-0 leaves the SRV record: its slot goes to MAINT (resolution), its session is lost.
    t.dns.srvs.set(SRV, [srv("wt-1.wt.test", 9002)]);
    await t.d.refresh();
    assertEquals(t.counts(), [
      "wt1 - live 0 lost 1",
      "wt2 wt1 live 1 lost 2",
      "wt3 - live 0 lost 0",
    ]);
    assertEquals(t.lost(), [
      "Server app/wt1 lost 1 Wt session (no address from DNS: MAINT (resolution)).",
    ]);
    assertEquals([t.replica.isLive("app/wt1", A), t.replica.isLive("app/wt2", B)], [false, true]);
    const v = backendView(t.cfg.backends[0], t.store, undefined, false, true);
    assertEquals([v.sessions, v.sessionsLost], [1, 3]);
    assertEquals(v.servers.map((s) => s.sessionsLost), [1, 2, 0]);
  } finally {
    t.table.stop();
    await t.d.stop();
  }
});
