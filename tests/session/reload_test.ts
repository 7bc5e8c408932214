// The session table across reloads: turned on, kept (its sessions too), turned off.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startRuntime } from "../../src/runtime.ts";
import { startWtServer } from "../../src/demo/wtserver.ts";
import { bind, loc, recipeConfig } from "../helpers/config.ts";

Deno.test("reload: wt-sessions turned on, kept with its sessions, turned off", async () => {
  const wt1 = await startWtServer({ prefix: "wt1", port: 0 });
  const wt2 = await startWtServer({ prefix: "wt2", port: 0 });
  const off = recipeConfig(wt1.port, wt2.port);
  off.frontends[0].binds = [bind()];
  const on = {
    ...off,
    global: { ...off.global, wtSessions: { param: "wtd", timeout: 60_000, max: 10, loc } },
  };
  const rt = await startRuntime(off, { logging: false, health: false, admin: false });
  const front = `http://127.0.0.1:${rt.listeners[0].port}`;
  const visit = async () => {
    const page = await fetch(front + "/");
    await page.body?.cancel();
    const id = page.headers.get("x-wt-session")!;
    await (await fetch(`${front}/?wtd=${id}&request=script`)).body?.cancel();
    return id;
  };
  const srv1 = () => rt.state.servers.get("bck1/srv1")!;
  const sessions = () => rt.sessions; // read anew after each reload
  try {
    await visit();
    assertEquals(sessions(), null);
    assertEquals(srv1().wtSessions, 0);
    await rt.reload(on);
    assert(sessions() !== null);
    const id = await visit();
    assert(id.startsWith("wt"));
    const counted = srv1().wtSessions + rt.state.servers.get("bck2/srv2")!.wtSessions;
    assertEquals(counted, 1);
    const table = sessions();
    await rt.reload({ ...on }); // same settings: the same table, the session kept
    assertEquals(sessions(), table);
    assertEquals(sessions()!.size, 1);
    await rt.reload(off);
    assertEquals(sessions(), null);
    assertEquals(srv1().wtSessions + rt.state.servers.get("bck2/srv2")!.wtSessions, 0);
  } finally {
    await rt.stop(500);
    await wt1.stop();
    await wt2.stop();
  }
});
