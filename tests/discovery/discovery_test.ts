// The discovery engine without a network: a scripted resolver, the real state store, state
// machine and events. Slots fill in order and keep their records, a vanished record puts its
// slot in MAINT (resolution), failures keep the last valid answer for `hold`, an appearing
// address is checked before it takes traffic, prefixes come from names and a conflict is an
// error event.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startDiscovery } from "../../src/discovery/discovery.ts";
import { localAddressSink } from "../../src/discovery/sink.ts";
import { serverStatus } from "../../src/health/machine.ts";
import { type StateEvent, StateStore } from "../../src/state.ts";
import type { ResolversConfig, ServerConfig } from "../../src/config/model.ts";
import { backend, config, server } from "../helpers/config.ts";
import { resolvers, ScriptedResolver, slots, srv } from "./helpers.ts";

function setup(servers: ServerConfig[], extra: Partial<ResolversConfig> = {}) {
  const cfg = config([], [backend("app", servers, { affinity: { urlParam: "wtd" } })], {
    resolvers: [resolvers([{ host: "127.0.0.1", port: 53 }], extra)],
  });
  const store = new StateStore();
  store.sync(cfg);
  const events: StateEvent[] = [];
  store.on((e) => events.push(e));
  const dns = new ScriptedResolver();
  const kicked: string[] = [];
  const start = () =>
    startDiscovery(cfg, store, localAddressSink(store, null), {
      resolverFor: () => dns,
      onAddress: (k) => kicked.push(k),
    });
  const status = () =>
    [...store.servers.values()].map((s) =>
      `${s.name} ${serverStatus(s)} ${s.dns ? `${s.dns.host}:${s.dns.port}` : "-"}`
    );
  const messages = () => events.splice(0).map((e) => `${e.level}: ${e.message}`);
  return { cfg, store, dns, start, status, messages, kicked };
}

const SRV = "_wt._tcp.wt.test";

Deno.test("SRV slots: fill in order, keep their records, vanish into MAINT (resolution)", async () => {
  const t = setup(slots("wt", 3, SRV, 0, {}, { prefixFrom: "dns-label" }));
  t.dns.srvs.set(SRV, [srv("wt-0.wt.test", 9001), srv("wt-1.wt.test", 9002)]);
  t.dns.a.set("wt-0.wt.test", ["10.0.0.1"]);
  t.dns.a.set("wt-1.wt.test", ["10.0.0.2"]);
  const d = await t.start();
  // Before the first answer every slot is in MAINT (resolution), silently.
  assertEquals(t.status(), [
    "wt1 MAINT (resolution) -",
    "wt2 MAINT (resolution) -",
    "wt3 MAINT (resolution) -",
  ]);
  await d.refresh();
  assertEquals(t.status(), [
    "wt1 no check 10.0.0.1:9001",
    "wt2 no check 10.0.0.2:9002",
    "wt3 MAINT (resolution) -",
  ]);
  assertEquals(t.store.servers.get("app/wt1")!.dns!.prefix, "wt0");
  assertEquals(t.store.servers.get("app/wt2")!.dns!.prefix, "wt1");
  assertEquals(t.messages(), [
    "notice: app/wt1 changed its FQDN from (none) to wt-0.wt.test by 'SRV record'.",
    "notice: app/wt1 changed its IP from (none) to 10.0.0.1 by dns/ns1.",
    "notice: Server app/wt1 ('wt-0.wt.test') is UP/READY (resolves again).",
    "notice: app/wt2 changed its FQDN from (none) to wt-1.wt.test by 'SRV record'.",
    "notice: app/wt2 changed its IP from (none) to 10.0.0.2 by dns/ns1.",
    "notice: Server app/wt2 ('wt-1.wt.test') is UP/READY (resolves again).",
  ]);
  // wt-0 goes away, wt-2 comes: wt-1 keeps slot wt2, wt-2 takes the free slots in order.
  t.dns.srvs.set(SRV, [srv("wt-2.wt.test", 9003), srv("wt-1.wt.test", 9002)]);
  t.dns.a.set("wt-2.wt.test", ["10.0.0.3"]);
  await d.refresh();
  assertEquals(t.status(), [
    "wt1 no check 10.0.0.3:9003",
    "wt2 no check 10.0.0.2:9002",
    "wt3 MAINT (resolution) -",
  ]);
  const m = t.messages();
  assertEquals(
    m[0],
    "notice: Server app/wt1 is going DOWN for maintenance (entry removed from SRV record). " +
      "1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
  );
  assert(
    m.includes("notice: Server app/wt1 ('wt-2.wt.test') is UP/READY (resolves again)."),
    m.join("\n"),
  );
  assertEquals(t.store.servers.get("app/wt1")!.dns!.prefix, "wt2");
  // The target moves to another address: same slot, new IP.
  t.dns.a.set("wt-1.wt.test", ["10.0.0.9"]);
  await d.refresh();
  assertEquals(t.status()[1], "wt2 no check 10.0.0.9:9002");
  assertEquals(t.messages(), [
    "notice: app/wt2 changed its IP from 10.0.0.2 to 10.0.0.9 by dns/ns1.",
  ]);
  await d.stop();
});

Deno.test("an appearing address on a checked server is DOWN until its checks pass", async () => {
  const t = setup(slots("wt", 2, "wt.test", 8080, { check: true }));
  t.dns.a.set("wt.test", ["10.0.0.1"]);
  const d = await t.start();
  await d.refresh();
  assertEquals(t.status(), ["wt1 DOWN 10.0.0.1:8080", "wt2 MAINT (resolution) -"]);
  assertEquals(t.store.servers.get("app/wt1")!.usable, false);
  assertEquals(t.kicked, ["app/wt1"]);
  assert(
    t.messages().includes("notice: Server app/wt1 ('wt.test') is DOWN/READY (resolves again)."),
  );
  // A-record template: each slot its own address; the first keeps its own.
  t.dns.a.set("wt.test", ["10.0.0.2", "10.0.0.1"]);
  await d.refresh();
  assertEquals(t.status(), ["wt1 DOWN 10.0.0.1:8080", "wt2 DOWN 10.0.0.2:8080"]);
  await d.stop();
});

Deno.test("failures keep the last valid answer for hold, then MAINT with HAProxy's reason", async () => {
  const t = setup(slots("wt", 1, "wt.test", 8080), { hold: { ...HOLD, nx: 150, timeout: 60_000 } });
  t.dns.a.set("wt.test", ["10.0.0.1"]);
  const d = await t.start();
  await d.refresh();
  t.messages();
  t.dns.a.set("wt.test", "timeout");
  await d.refresh();
  assertEquals(t.status(), ["wt1 no check 10.0.0.1:8080"]);
  assertEquals(t.messages(), [
    "warning: backend app: resolution of 'wt.test' by resolvers dns failed (DNS timeout status), " +
    "keeping the last valid answer for 60000 ms.",
  ]);
  t.dns.a.set("wt.test", "nx");
  await d.refresh();
  assertEquals(t.status(), ["wt1 no check 10.0.0.1:8080"]);
  await new Promise((r) => setTimeout(r, 200));
  await d.refresh();
  assertEquals(t.status(), ["wt1 MAINT (resolution) -"]);
  const m = t.messages();
  assert(
    m.some((x) =>
      x.startsWith("notice: Server app/wt1 is going DOWN for maintenance (DNS NX status).")
    ),
    m.join("\n"),
  );
  assert(m.includes("emerg: backend app has no server available!"), m.join("\n"));
  t.dns.a.set("wt.test", ["10.0.0.1"]);
  await d.refresh();
  assertEquals(t.status(), ["wt1 no check 10.0.0.1:8080"]);
  assert(t.messages().includes("notice: backend app: 'wt.test' resolves again by dns/ns1."));
  await d.stop();
});

const HOLD = { valid: 10000, nx: 30000, timeout: 30000, refused: 30000, other: 30000, obsolete: 0 };

Deno.test("hold obsolete keeps a vanished record's slot for a while", async () => {
  const t = setup(slots("wt", 1, SRV), { hold: { ...HOLD, obsolete: 150 } });
  t.dns.srvs.set(SRV, [srv("wt-0.wt.test", 9001)]);
  t.dns.a.set("wt-0.wt.test", ["10.0.0.1"]);
  const d = await t.start();
  await d.refresh();
  t.dns.srvs.set(SRV, [srv("wt-1.wt.test", 9001)]);
  t.dns.a.set("wt-1.wt.test", ["10.0.0.2"]);
  await d.refresh();
  assertEquals(t.status(), ["wt1 no check 10.0.0.1:9001"]);
  await new Promise((r) => setTimeout(r, 200));
  await d.refresh();
  assertEquals(t.status(), ["wt1 no check 10.0.0.2:9001"]);
  await d.stop();
});

Deno.test("two names giving one Wt prefix: an error event, the later server gets none", async () => {
  const t = setup(slots("wt", 3, SRV, 0, {}, { prefixFrom: "dns-label" }));
  t.dns.srvs.set(SRV, [
    srv("wt-0.a.test", 9001),
    srv("wt0.b.test", 9002),
    srv("wt-01.c.test", 9003),
  ]);
  t.dns.a.set("wt-0.a.test", ["10.0.0.1"]);
  t.dns.a.set("wt0.b.test", ["10.0.0.2"]);
  t.dns.a.set("wt-01.c.test", ["10.0.0.3"]);
  const d = await t.start();
  await d.refresh();
  const prefixes = ["wt1", "wt2", "wt3"].map((s) => t.store.servers.get(`app/${s}`)!.dns?.prefix);
  const errors = t.messages().filter((m) => m.startsWith("err:"));
  // Sorted by name: wt-0.a, wt-01.c, wt0.b: the first keeps wt0, the other two get none.
  assertEquals(prefixes, ["wt0", null, null]);
  assertEquals(errors.length, 2, errors.join("\n"));
  assert(
    errors.some((e) => e.includes("Wt prefix 'wt0' from 'wt0.b.test' is the prefix of app/wt1")),
    errors.join("\n"),
  );
  assert(
    errors.some((e) =>
      e.includes("Wt prefix 'wt01' from 'wt-01.c.test' overlaps prefix 'wt0' of app/wt1")
    ),
    errors.join("\n"),
  );
  // The server holding wt0 goes away: the next one can take it.
  t.dns.srvs.set(SRV, [srv("wt0.b.test", 9002)]);
  await d.refresh();
  assertEquals(t.store.servers.get("app/wt3")!.dns?.prefix, "wt0");
  await d.stop();
});

Deno.test("init-addr: an IP literal gives the address at start, no method fails the start", async () => {
  const t = setup(slots("wt", 1, "wt.test", 8080, {}, { initAddr: ["10.9.9.9"] }));
  const d = await t.start();
  assertEquals(t.status(), ["wt1 no check 10.9.9.9:8080"]);
  await d.stop();
  const u = setup(slots("wt", 1, SRV, 0, {}, { initAddr: ["libc"] }));
  let err: unknown = null;
  await u.start().catch((e) => err = e);
  assert(
    String(err).includes("could not resolve address '_wt._tcp.wt.test'") ||
      String(err).includes("no method found"),
    String(err),
  );
});

Deno.test("reload: slots that keep their name keep their address; new slots fill; gone ones free", async () => {
  const t = setup(slots("wt", 2, SRV));
  t.dns.srvs.set(SRV, [
    srv("wt-0.wt.test", 9001),
    srv("wt-1.wt.test", 9002),
    srv("wt-2.wt.test", 9003),
  ]);
  for (const n of [0, 1, 2]) t.dns.a.set(`wt-${n}.wt.test`, [`10.0.0.${n + 1}`]);
  const d = await t.start();
  await d.refresh();
  assertEquals(t.status(), ["wt1 no check 10.0.0.1:9001", "wt2 no check 10.0.0.2:9002"]);
  // Three slots now: wt1 and wt2 keep theirs ("last"), wt3 takes the record left over.
  const three = config([], [backend("app", slots("wt", 3, SRV))], { resolvers: t.cfg.resolvers });
  t.store.sync(three);
  await d.reload(three);
  assertEquals(t.status().slice(0, 2), [
    "wt1 no check 10.0.0.1:9001",
    "wt2 no check 10.0.0.2:9002",
  ]);
  await d.refresh();
  assertEquals(t.status(), [
    "wt1 no check 10.0.0.1:9001",
    "wt2 no check 10.0.0.2:9002",
    "wt3 no check 10.0.0.3:9003",
  ]);
  // Back to a fixed server named wt1: its configured address again, out of MAINT.
  const fixed = config([], [backend("app", [server("wt1", 8080)])], { resolvers: t.cfg.resolvers });
  t.store.sync(fixed);
  await d.reload(fixed);
  assertEquals(t.status(), ["wt1 no check -"]);
  await d.stop();
});
