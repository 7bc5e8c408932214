// End to end through the real proxy (src/runtime.ts): real HTTP requests through a frontend on
// 127.0.0.1 (ephemeral port) to a live backend; the access lines arrive at a UDP catcher.

import { testRuntime } from "../helpers/threads.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ServerConfig } from "../../src/config/model.ts";

import { bind as bindAt, config as sharedConfig, server } from "../helpers/config.ts";
import { backend, frontend, loc, settings, udpCatcher, udpTarget } from "./fixture.ts";

const srv = (name: string, port: number, extra: Partial<ServerConfig> = {}) =>
  server(name, port, { loc, ...extra });
const bind = bindAt(0, loc);

Deno.test("runtime: real requests produce httplog datagrams (routed, <NOSRV>, redispatch)", async () => {
  const c = await udpCatcher();
  const live = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("ok"),
  );
  // A port nobody listens on: connects are refused.
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = dead.addr.port;
  dead.close();
  const targets = [udpTarget(c.port, "local0"), udpTarget(c.port, "local1", "notice")];
  const s = settings(targets, true, true);
  const wt = { ...frontend("wt", s), binds: [bind], defaultBackend: "bck1" };
  const f = { ...frontend("f", s), binds: [bind], defaultBackend: "nosrv" };
  const rr = { ...frontend("r", s), binds: [bind], defaultBackend: "closed2" };
  const config = sharedConfig([wt, f, rr], [
    { ...backend("bck1", s), servers: [srv("srv1", live.addr.port)] },
    { ...backend("nosrv", s), servers: [srv("s1", live.addr.port, { disabled: true })] },
    {
      ...backend("closed2", s),
      servers: [srv("dead", deadPort), srv("alive", live.addr.port)],
    },
  ], { file: "wt.cfg", format: "cfg", global: { maxconn: 4096, log: targets, logTag: "wtproxy" } });
  const rt = await testRuntime(config, { health: false, admin: false });
  try {
    const port = (fe: string) => rt.listeners.find((l) => l.frontend === fe)!.port;
    const r1 = await fetch(`http://127.0.0.1:${port("wt")}/?wtd=wt1abc`);
    assertEquals([r1.status, await r1.text()], [200, "ok"]);
    const r2 = await fetch(`http://127.0.0.1:${port("f")}/nosrv`);
    assertEquals(r2.status, 503);
    await r2.body?.cancel();
    // Round robin over dead, alive: one of two requests meets "dead" first and is
    // redispatched to "alive" at once.
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`http://127.0.0.1:${port("r")}/c2`);
      assertEquals(r.status, 200);
      await r.body?.cancel();
    }
    // 6 proxies x 2 targets "Proxy X started." (notice) + 4 traffic lines (local0 only).
    await c.waitFor(16, 5000);
    const all = await c.settle();
    const started = all.filter((l) => / Proxy \S+ started\.\n$/.test(l));
    assertEquals(started.length, 12, all.join(""));
    assert(started.every((l) => l.startsWith("<133>") || l.startsWith("<141>")), all.join(""));
    const got = all.filter((l) => l.startsWith("<134>"));
    assertEquals(got.length, 4, all.join(""));
    const head = String.raw`^<134>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d wtproxy\[${Deno.pid}\]: ` +
      String.raw`127\.0\.0\.1:\d+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] `;
    const t = String.raw`(?:\d+|-1)`;
    const ok = new RegExp(
      head + String.raw`wt bck1/srv1 ${t}/${t}/${t}/${t}/${t} 200 \d+ - - ---- ` +
        String.raw`\d+/\d+/\d+/\d+/0 0/0 "GET /\?wtd=wt1abc HTTP/1\.1"\n$`,
    );
    const nosrv = new RegExp(
      head + String.raw`f nosrv/<NOSRV> ${t}/-1/-1/-1/${t} 503 \d+ - - SC-- ` +
        String.raw`\d+/\d+/\d+/\d+/0 0/0 "GET /nosrv HTTP/1\.1"\n$`,
    );
    const redisp = new RegExp(
      head + String.raw`r closed2/alive ${t}/${t}/${t}/${t}/${t} 200 \d+ - - ---- ` +
        String.raw`\d+/\d+/\d+/\d+/\+1 0/0 "GET /c2 HTTP/1\.1"\n$`,
    );
    const plain = new RegExp(
      head + String.raw`r closed2/alive ${t}/${t}/${t}/${t}/${t} 200 \d+ - - ---- ` +
        String.raw`\d+/\d+/\d+/\d+/0 0/0 "GET /c2 HTTP/1\.1"\n$`,
    );
    assert(got.some((l) => ok.test(l)), got.join(""));
    assert(got.some((l) => nosrv.test(l)), got.join(""));
    assert(got.some((l) => redisp.test(l)), got.join(""));
    assert(got.some((l) => plain.test(l)), got.join(""));
    assertEquals(rt.logging?.dropped(), 0);
  } finally {
    await rt.stop(1000);
    await live.shutdown();
    await c.close();
  }
});
