// nbthread 2: the stats page's admin forms are served by a data-plane worker; the state change
// is made by the control plane (event line once, health machine, drain bookkeeping) as the
// admin API does, and every view of the state shows it.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { rawRequest } from "../helpers/raw_client.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import type { StateEvent } from "../../src/state.ts";

const YAML = `
admin:
  bind: "127.0.0.1:0"
frontends:
  stats:
    bind: "127.0.0.1:0"
    stats: { uri: /stats, admin: "if LOCALHOST" }
  www: { bind: "127.0.0.1:0", default_backend: app }
backends:
  app:
    servers:
      s1: { address: "127.0.0.1:1" }
      s2: { address: "127.0.0.1:2" }
`;

/** Polls `cond` every 10 ms, at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("nbthread 2: the stats page's admin form sets MAINT/DRAIN through the control plane, one event each", async () => {
  const p = await startTestProxy(YAML, { nbthread: 2, admin: true });
  const rt = p.runtime;
  const events: StateEvent[] = [];
  rt.state.on((e) => events.push(e));
  const port = rt.listeners.find((l) => l.frontend === "stats")!.port;
  const admin = `http://127.0.0.1:${rt.adminAddr!.port}`;
  const post = (body: string) =>
    rawRequest(
      port,
      `POST /stats HTTP/1.1\r\nhost: a\r\nconnection: close\r\n` +
        `content-type: application/x-www-form-urlencoded\r\n` +
        `content-length: ${body.length}\r\n\r\n${body}`,
    );
  const status = async () => {
    const list = await (await fetch(`${admin}/api/servers`)).json() as {
      key: string;
      status: string;
    }[];
    return Object.fromEntries(list.map((s) => [s.key, s.status]));
  };
  const adminEvents = (key: string) => events.filter((e) => e.kind === "admin" && e.key === key);
  try {
    assertEquals(rt.workers?.size, 2);
    const r1 = await post("s=s1&action=maint&b=app");
    assertEquals(r1.status, 303);
    assertEquals(r1.headers.find(([k]) => k === "location")?.[1], "/stats;st=DONE");
    await until(() => adminEvents("app/s1").length > 0);
    const r2 = await post("s=s2&action=drain&b=app");
    assertEquals(r2.status, 303);
    await until(() => adminEvents("app/s2").length > 0);
    await new Promise((r) => setTimeout(r, 200)); // a second event would show by now
    assertEquals(adminEvents("app/s1").length, 1, JSON.stringify(events));
    assertEquals(adminEvents("app/s2").length, 1, JSON.stringify(events));
    assert(/maintenance/i.test(adminEvents("app/s1")[0].message), adminEvents("app/s1")[0].message);
    assert(/drain/i.test(adminEvents("app/s2")[0].message), adminEvents("app/s2")[0].message);
    const st = await status();
    assertEquals([st["app/s1"], st["app/s2"]], ["MAINT", "DRAIN"]);
    // An unknown server is refused in the worker, as at nbthread 1.
    const bad = await post("s=nosuch&action=maint&b=app");
    assertEquals(bad.headers.find(([k]) => k === "location")?.[1], "/stats;st=PART");
    // Back to READY: one more event, every view agrees.
    await post("s=s1&action=ready&b=app");
    await until(() => adminEvents("app/s1").length === 2);
    assertEquals((await status())["app/s1"], "no check");
    assertEquals(rt.state.servers.get("app/s1")!.admin, "READY");
  } finally {
    await p.stop();
  }
});
