// Two demo servers behind the running proxy on the recipe's configuration (127.0.0.1,
// ephemeral ports): sessions stay on their server, new ones alternate, failover is visible.
import { testRuntime } from "../helpers/threads.ts";
import { equal, match, ok as assert } from "node:assert/strict";
import { startWtServer } from "../../src/demo/wtserver.ts";

import { bind, recipeConfig } from "../helpers/config.ts";

Deno.test("demo servers behind the proxy: affinity, alternation, failover", async () => {
  const wt1 = await startWtServer({ prefix: "wt1", port: 0 });
  const wt2 = await startWtServer({ prefix: "wt2", port: 0 });
  const config = recipeConfig(wt1.port, wt2.port);
  config.frontends[0].binds = [bind()];
  const rt = await testRuntime(config, { health: false, logging: false, admin: false });
  const base = `http://127.0.0.1:${rt.listeners[0].port}`;
  const get = async (path: string, init?: RequestInit) => {
    const r = await fetch(base + path, init);
    return {
      status: r.status,
      server: r.headers.get("x-wt-server"),
      session: r.headers.get("x-wt-session"),
      body: await r.text(),
    };
  };
  try {
    // New sessions alternate between the servers.
    const a = await get("/");
    const b = await get("/");
    equal(a.server, "wt1");
    equal(b.server, "wt2");
    // Each session's requests (page, script, AJAX) reach the server that created it.
    for (let i = 0; i < 10; i++) {
      for (const s of [a, b]) {
        const page = await get(`/?wtd=${s.session}`);
        equal(page.session, s.session);
        const upd = await get(`/?wtd=${s.session}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "request=jsupdate",
        });
        match(upd.body, /^wtUpdate\(/);
        equal(upd.server, s.server);
      }
    }
    // wt1 goes away; the checker would mark it DOWN, here forced as it would.
    await wt1.stop();
    rt.state.server("bck1", "srv1")!.health = "DOWN";
    const upd = await get(`/?wtd=${a.session}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "request=jsupdate",
    });
    equal(upd.server, "wt2");
    match(upd.body, /^wtReload\(/); // the misroute is visible: Wt says reload
    const page = await get(`/?wtd=${a.session}`);
    equal(page.server, "wt2");
    assert(page.session!.startsWith("wt2") && page.session !== a.session, "a fresh wt2 session");
  } finally {
    await rt.stop(500);
    await wt1.stop().catch(() => {});
    await wt2.stop();
  }
});
