// DNS discovery against a real dnsmasq while traffic runs: Wt-like servers named wt-0, wt-1...
// (prefixes wt0, wt1... by the `prefix-from dns-label` convention) come and go in SRV and A
// records; session-less requests never fail, sessions stay on their server while it lives, a
// server added takes new sessions once its checks passed, a removed one loses no request,
// a moved one is followed, and a nameserver that goes away for less than `hold` changes nothing.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startWtServer, type WtServer } from "../../src/demo/wtserver.ts";
import { startRuntime } from "../../src/runtime.ts";
import { serverStatus } from "../../src/health/machine.ts";
import type { StateEvent } from "../../src/state.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { Dnsmasq } from "./dnsmasq.ts";

const SRV = "_wt._tcp.wt.test";

async function until(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Outcome {
  ok: number;
  failed: string[];
  /** Session requests answered by another server (Wt's reload), by the session's prefix. */
  lost: Map<string, number>;
  /** New sessions by the prefix of the server that created them. */
  created: Map<string, number>;
}

/** Clients in a loop: a session-less page load, then a few AJAX updates of a known session. */
function traffic(port: number, clients = 4) {
  const out: Outcome = { ok: 0, failed: [], lost: new Map(), created: new Map() };
  let running = true;
  const sessions: string[] = [];
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const one = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${res.status} for ${path}`);
    return { res, body };
  };
  const loop = async (n: number) => {
    let i = 0;
    while (running) {
      i++;
      try {
        if (i % 3 === 0 || sessions.length === 0) {
          const { res } = await one("/");
          const id = res.headers.get("x-wt-session")!;
          bump(out.created, res.headers.get("x-wt-server")!);
          sessions.push(id);
          if (sessions.length > 50) sessions.shift();
        } else {
          const id = sessions[(i * 7 + n) % sessions.length];
          const { body } = await one(`/?wtd=${id}&request=jsupdate`);
          if (body.startsWith("wtReload")) bump(out.lost, id.slice(0, 3));
          // A lost session is gone: drop it.
          if (body.startsWith("wtReload")) sessions.splice(sessions.indexOf(id), 1);
        }
        out.ok++;
      } catch (err) {
        out.failed.push(String(err));
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, n) => loop(n)));
  return {
    out,
    async stop() {
      running = false;
      await done;
      return out;
    },
  };
}

// At nbthread 2 the addresses reach the data-plane workers as pushes: the same story must hold.
for (const nbthread of [1, 2]) {
  Deno.test(`discovery with dnsmasq (nbthread ${nbthread}): servers added, removed, moved and a nameserver down, under traffic`, () =>
    scenario(nbthread));
}

async function scenario(nbthread: number) {
  const wt: Record<string, WtServer> = {};
  wt.wt0 = await startWtServer({ prefix: "wt0", hostname: "127.0.0.2" });
  wt.wt1 = await startWtServer({ prefix: "wt1", hostname: "127.0.0.3" });
  const records = {
    a: { "wt-0.wt.test": ["127.0.0.2"], "wt-1.wt.test": ["127.0.0.3"] },
    srv: {
      [SRV]: [["wt-0.wt.test", wt.wt0.port], ["wt-1.wt.test", wt.wt1.port]] as [string, number][],
    },
  };
  const dns = await Dnsmasq.start(records);
  // The configuration a user writes (YAML), with short periods so the test runs fast.
  const { config: cfg } = await loadConfigText(
    `
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
        resolve-prefer: ipv4
        init-addr: none
        prefix-from: dns-label
        check: true
        inter: 100ms
        fastinter: 50ms
resolvers:
  dns:
    nameservers: { ns1: "127.0.0.1:${dns.port}" }
    hold: { valid: 100ms, nx: 10s, timeout: 10s }
    timeouts: { resolve: 100ms, retry: 200ms }
    resolve_retries: 2
`,
    "test.yaml",
  );
  const rt = await startRuntime(cfg, { logging: false, admin: false, nbthread });
  const events: StateEvent[] = [];
  rt.state.on((e) => events.push(e));
  const st = (s: string) => rt.state.servers.get(`app/${s}`)!;
  const slotOf = (prefix: string) =>
    ["wt1", "wt2", "wt3"].find((s) => st(s).dns?.prefix === prefix && st(s).usable);
  const port = rt.listeners[0].port;
  let load: ReturnType<typeof traffic> | null = null;
  try {
    await until("wt0 and wt1 UP", () => !!slotOf("wt0") && !!slotOf("wt1"));
    load = traffic(port);
    await until("sessions on both", () => (load!.out.created.get("wt1") ?? 0) > 3);

    // 1. A server is added: it takes new sessions once its checks passed.
    wt.wt2 = await startWtServer({ prefix: "wt2", hostname: "127.0.0.4" });
    records.a["wt-2.wt.test" as "wt-0.wt.test"] = ["127.0.0.4"];
    records.srv[SRV].push(["wt-2.wt.test", wt.wt2.port]);
    await dns.set(records);
    await until("wt2 takes new sessions", () => (load!.out.created.get("wt2") ?? 0) > 3);
    const wt2Up = events.find((e) => e.kind === "up" && e.server === slotOf("wt2"));
    assert(wt2Up, "wt2 came UP through its checks");

    // 2. A server is removed from DNS, then stopped: no session-less request fails.
    records.srv[SRV] = records.srv[SRV].filter(([t]) => t !== "wt-1.wt.test");
    await dns.set(records);
    await until("wt1 in MAINT", () => !slotOf("wt1"));
    const lostBefore = load.out.lost.get("wt1") ?? 0;
    await wt.wt1.stop();
    await until(
      "wt1 sessions rebalanced",
      () => (load!.out.lost.get("wt1") ?? 0) > lostBefore,
      5000,
    )
      .catch(() => {}); // none may be asked for in time: that is fine too

    // 3. wt-0 moves to another address (a restarted pod): the slot follows it.
    const slot0 = slotOf("wt0")!;
    wt.wt0b = await startWtServer({ prefix: "wt0", hostname: "127.0.0.5", port: wt.wt0.port });
    records.a["wt-0.wt.test"] = ["127.0.0.5"];
    await dns.set(records);
    await until(
      "wt0 at its new address",
      () => st(slot0).dns?.host === "127.0.0.5" && st(slot0).usable,
    );
    await wt.wt0.stop();
    const createdWt0 = load.out.created.get("wt0") ?? 0;
    await until(
      "wt0 takes sessions again",
      () => (load!.out.created.get("wt0") ?? 0) > createdWt0 + 2,
    );

    // 4. The nameserver goes away for less than `hold timeout`: nothing changes.
    const before = ["wt1", "wt2", "wt3"].map((s) => `${serverStatus(st(s))} ${st(s).dns?.host}`);
    dns.down();
    await until(
      "the failure is seen",
      () => events.some((e) => e.message.includes("DNS timeout status")),
    );
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(
      ["wt1", "wt2", "wt3"].map((s) => `${serverStatus(st(s))} ${st(s).dns?.host}`),
      before,
    );
    await dns.up();
    await until(
      "resolves again",
      () => events.some((e) => e.message.includes("resolves again by")),
    );

    const out = await load.stop();
    load = null;
    assertEquals(out.failed, []);
    assert(out.ok > 100, `only ${out.ok} requests`);
    // Sessions of servers that stayed alive were never lost.
    assertEquals(out.lost.get("wt2") ?? 0, 0);
    const routed = events.map((e) => e.message);
    assert(routed.some((m) => m.includes("(entry removed from SRV record)")), routed.join("\n"));
    assert(
      routed.some((m) => m.includes("changed its IP from 127.0.0.2 to 127.0.0.5")),
      routed.join("\n"),
    );
  } finally {
    await load?.stop();
    await rt.stop(500);
    for (const s of Object.values(wt)) await s.stop().catch(() => {});
    await dns.stop();
  }
}
