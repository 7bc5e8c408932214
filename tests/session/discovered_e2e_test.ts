// Wt sessions of DNS-discovered servers through the real proxy, a real dnsmasq and demo Wt
// servers named wt-0, wt-1, wt-2 (prefixes wt0, wt1, wt2 by `prefix-from dns-label`), at
// nbthread 1 and 2: each slot counts its own sessions, a server whose record is removed loses
// them (counted on /api/servers/B/S, /stats.json, /metrics and the event line), and a server
// discovered later gets its derived prefix: affinity and counts without a reload.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startWtServer, type WtServer } from "../../src/demo/wtserver.ts";
import { startRuntime } from "../../src/runtime.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { StateEvent } from "../../src/state.ts";
import { Dnsmasq } from "../discovery/dnsmasq.ts";
import { metric, parsePrometheus } from "../admin/fixture.ts";

const SRV = "_wt._tcp.wt.test";

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const nbthread of [1, 2]) {
  Deno.test(`nbthread ${nbthread}: discovered Wt servers count their sessions, lose them when removed, a new one gets its prefix`, async () => {
    const wt: WtServer[] = [
      await startWtServer({ prefix: "wt0", hostname: "127.0.0.2" }),
      await startWtServer({ prefix: "wt1", hostname: "127.0.0.3" }),
    ];
    const records = {
      a: {
        "wt-0.wt.test": ["127.0.0.2"],
        "wt-1.wt.test": ["127.0.0.3"],
        "wt-2.wt.test": ["127.0.0.4"],
      },
      srv: {
        [SRV]: [["wt-0.wt.test", wt[0].port], ["wt-1.wt.test", wt[1].port]] as [
          string,
          number,
        ][],
      },
    };
    const dns = await Dnsmasq.start(records);
    const { config } = await loadConfigText(
      `
global:
  wt-sessions: { param: wtd, timeout: 600s }
admin: { bind: "127.0.0.1:0" }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: app, timeouts: { client: 5s } }
backends:
  app:
    timeouts: { connect: 1s, server: 5s }
    options: { redispatch: true }
    affinity: { url_param: wtd }
    servers:
      wt:
        address: ${SRV}
        template: 3
        resolvers: dns
        init-addr: none
        prefix-from: dns-label
        check: true
        inter: 100ms
        fastinter: 50ms
resolvers:
  dns:
    nameservers: { ns1: "127.0.0.1:${dns.port}" }
    hold: { valid: 100ms }
    timeouts: { resolve: 200ms, retry: 200ms }
`,
      "test.yaml",
    );
    const rt = await startRuntime(config, { logging: false, nbthread });
    const events: StateEvent[] = [];
    rt.state.on((e) => events.push(e));
    const front = `http://127.0.0.1:${rt.listeners[0].port}`;
    const admin = `http://127.0.0.1:${rt.adminAddr!.port}`;
    const get = async (url: string) => {
      const r = await fetch(url);
      await r.body?.cancel();
      return r;
    };
    const json = async (path: string) => await (await fetch(admin + path)).json();
    /** The slot ("wt1".."wt3") holding the server of `prefix`, once it is UP. */
    const slotOf = (prefix: string) =>
      ["wt1", "wt2", "wt3"].find((s) => {
        const st = rt.state.servers.get(`app/${s}`)!;
        return st.dns?.prefix === prefix && st.usable;
      });
    /** Makes `n` live sessions on the server of `prefix` (new sessions go round robin). */
    const sessionsOn = async (prefix: string, n: number) => {
      const ids: string[] = [];
      for (let i = 0; ids.length < n && i < 50; i++) {
        const page = await get(`${front}/`);
        const id = page.headers.get("x-wt-session");
        if (id === null) throw new Error(`${page.status} for / (${prefix})`);
        if (!id.startsWith(prefix)) continue;
        // Live from the first request carrying the id that its server answered.
        const r = await get(`${front}/?wtd=${id}&request=script`);
        assertEquals(r.headers.get("x-wt-server"), prefix);
        ids.push(id);
      }
      assertEquals(ids.length, n);
      return ids;
    };
    try {
      await until("wt0 and wt1 UP", () => !!slotOf("wt0") && !!slotOf("wt1"));
      const s0 = slotOf("wt0")!;
      const s1 = slotOf("wt1")!;
      await sessionsOn("wt0", 1);
      await sessionsOn("wt1", 2);
      // Each slot counts its own (every slot has the same configured name).
      await until(
        "counts reach the control plane",
        async () => (await json(`/api/servers/app/${s1}`)).sessions === 2,
      );
      assertEquals((await json(`/api/servers/app/${s0}`)).sessions, 1);

      // wt-1's record is removed: its slot is in MAINT (resolution), its sessions are lost.
      records.srv[SRV] = records.srv[SRV].filter(([t]) => t !== "wt-1.wt.test");
      await dns.set(records);
      await until(
        "wt1's sessions counted lost",
        async () => (await json(`/api/servers/app/${s1}`)).sessionsLost === 2,
      );
      const one = await json(`/api/servers/app/${s1}`);
      assertEquals([one.sessions, one.status], [0, "MAINT (resolution)"]);
      const stats = await json("/stats.json");
      const app = stats.backends.find((b: { name: string }) => b.name === "app");
      assertEquals([app.sessions, app.sessionsLost], [1, 2]);
      const m = parsePrometheus(await (await fetch(admin + "/metrics")).text());
      assertEquals(
        metric(m, "wtproxy_server_wt_sessions_lost_total", { proxy: "app", server: s1 }),
        2,
      );
      const lines = events.filter((e) => e.kind === "sessions-lost").map((e) => e.message);
      assertEquals(lines, [
        `Server app/${s1} lost 2 Wt sessions (no address from DNS: MAINT (resolution)).`,
      ]);

      // wt-2 appears: once its checks pass it takes new sessions under its derived prefix.
      wt.push(await startWtServer({ prefix: "wt2", hostname: "127.0.0.4" }));
      records.srv[SRV].push(["wt-2.wt.test", wt[2].port]);
      await dns.set(records);
      await until("wt2 UP", () => !!slotOf("wt2"));
      const s2 = slotOf("wt2")!;
      const ids = await sessionsOn("wt2", 2);
      // Affinity: its sessions stay on it.
      for (let i = 0; i < 6; i++) {
        const r = await get(`${front}/?wtd=${ids[i % 2]}&request=jsupdate`);
        assertEquals(r.headers.get("x-wt-server"), "wt2");
      }
      await until(
        "wt2's sessions counted",
        async () => (await json(`/api/servers/app/${s2}`)).sessions === 2,
      );
      const listed = await json(`/api/sessions?server=app/${s2}`);
      assertEquals(listed.sessions.map((v: { id: string }) => v.id.slice(0, 3)), ["wt2", "wt2"]);
      assertEquals((await json(`/api/servers/app/${s0}`)).sessions, 1);
      assert(!events.some((e) => e.kind === "sessions-lost" && e.server !== s1));
    } finally {
      await rt.stop(500);
      for (const s of wt) await s.stop().catch(() => {});
      await dns.stop();
    }
  });
}
