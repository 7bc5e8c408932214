import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AdminConfigError, startAdmin } from "../../src/admin/server.ts";
import { adminConfigError, isLoopbackHost } from "../../src/admin/auth.ts";
import { applyCheckResult } from "../../src/health/machine.ts";
import { adminConfig, bck, fakeRuntime } from "./fixture.ts";

type Json = Record<string, unknown>;

async function call(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json; headers: Headers }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    body,
    headers: body !== undefined ? { "content-type": "application/json", ...headers } : headers,
  });
  const text = await r.text();
  let json: Json = {};
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: r.status, json, headers: r.headers };
}

Deno.test("api: maint on bck1/srv1 empties nbsrv(bck1) and its tracker; ready brings it back", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig());
  const port = admin.addr.port;
  const cfg = rt.config;
  const srv1 = rt.state.server("bck1", "srv1")!;
  const tracker = rt.state.server("bck_lb", "srv1")!;
  try {
    assertEquals(rt.state.nbsrv(bck(cfg, "bck1")), 1);
    let r = await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"maint"}');
    assertEquals(r.status, 200);
    assertEquals(r.json.effectiveAdmin, "MAINT");
    assertEquals(r.json.status, "MAINT");
    assertEquals(rt.state.nbsrv(bck(cfg, "bck1")), 0);
    assertEquals(tracker.effectiveAdmin, "MAINT");
    assertEquals(tracker.usable, false);
    // the tracker is shown as HAProxy does: MAINT (via bck1/srv1)
    r = await call(port, "GET", "/api/servers/bck_lb/srv1");
    assertEquals(r.json.status, "MAINT (via bck1/srv1)");
    // bck_lb still has srv2: wt1 traffic goes there (nbsrv(bck_lb) = 1)
    assertEquals(rt.state.nbsrv(bck(cfg, "bck_lb")), 1);

    r = await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"ready"}');
    assertEquals(r.status, 200);
    assertEquals(srv1.admin, "READY");
    assertEquals(rt.state.nbsrv(bck(cfg, "bck1")), 1);
    assertEquals(tracker.usable, true);

    // drain also leaves nbsrv() and is inherited
    r = await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"DRAIN"}');
    assertEquals(r.status, 200);
    assertEquals(rt.state.nbsrv(bck(cfg, "bck1")), 0);
    assertEquals(tracker.effectiveAdmin, "DRAIN");
    assertEquals(tracker.usable, false);
    await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"ready"}');
    assertEquals(rt.state.nbsrv(bck(cfg, "bck1")), 1);
  } finally {
    await admin.stop();
  }
});

Deno.test("api: weight, show servers, show info, backends", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig());
  const port = admin.addr.port;
  try {
    let r = await call(port, "POST", "/api/servers/bck2/srv2/weight", '{"weight":50}');
    assertEquals(r.status, 200);
    assertEquals(r.json.weight, 50);
    assertEquals(rt.state.server("bck2", "srv2")!.weight, 50);
    r = await call(port, "POST", "/api/servers/bck2/srv2/weight", '{"weight":0}');
    assertEquals(r.status, 200);
    assertEquals(rt.state.nbsrv(bck(rt.config, "bck2")), 0);
    r = await call(port, "POST", "/api/servers/bck2/srv2/weight", '{"weight":"100%"}');
    assertEquals(r.json.weight, 1);

    r = await call(port, "GET", "/api/servers");
    assertEquals(r.status, 200);
    const list = r.json as unknown as { key: string; status: string; tracks: string | null }[];
    assertEquals(list.map((s) => s.key), ["bck1/srv1", "bck2/srv2", "bck_lb/srv1", "bck_lb/srv2"]);
    assertEquals(list[2].tracks, "bck1/srv1");

    rt.dropped = 3;
    r = await call(port, "GET", "/api/info");
    assertEquals(r.status, 200);
    assertEquals(r.json.name, "wtproxy");
    assertEquals(r.json.pid, Deno.pid);
    assertEquals(r.json.droppedLogLines, 3);
    assertEquals(typeof r.json.version, "string");
    assertEquals(typeof r.json.uptimeSeconds, "number");

    r = await call(port, "GET", "/api/backends");
    const backs = r.json as unknown as { name: string; nbsrv: number }[];
    assertEquals(backs.map((b) => [b.name, b.nbsrv]), [["bck1", 1], ["bck2", 1], ["bck_lb", 2]]);
  } finally {
    await admin.stop();
  }
});

Deno.test("api: errors are JSON with a clear message", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig());
  const port = admin.addr.port;
  try {
    let r = await call(port, "POST", "/api/servers/bck1/nosuch/state", '{"state":"maint"}');
    assertEquals(r.status, 404);
    assert(String(r.json.error).includes("bck1/nosuch"), String(r.json.error));
    r = await call(port, "POST", "/api/servers/nobck/srv1/state", '{"state":"maint"}');
    assertEquals(r.status, 404);
    assert(String(r.json.error).includes("nobck"), String(r.json.error));
    r = await call(port, "POST", "/api/servers/bck1/srv1/state", "{not json");
    assertEquals(r.status, 400);
    assert(String(r.json.error).includes("JSON"));
    r = await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"sleep"}');
    assertEquals(r.status, 400);
    assert(String(r.json.error).includes("sleep"));
    r = await call(port, "POST", "/api/servers/bck1/srv1/weight", '{"weight":300}');
    assertEquals(r.status, 400);
    r = await call(port, "POST", "/api/servers/bck1/srv1/weight", '{"weight":1.5}');
    assertEquals(r.status, 400);
    r = await call(port, "GET", "/api/servers/bck1/srv1/state");
    assertEquals(r.status, 405);
    assertEquals(r.headers.get("allow"), "POST");
    r = await call(port, "GET", "/nowhere");
    assertEquals(r.status, 404);
    // nothing changed
    assertEquals(rt.state.server("bck1", "srv1")!.admin, "READY");
    assertEquals(rt.state.server("bck1", "srv1")!.weight, 1);
  } finally {
    await admin.stop();
  }
});

Deno.test("auth: with a token every request must carry it", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig("127.0.0.1", "s3cret"));
  const port = admin.addr.port;
  try {
    for (const path of ["/metrics", "/stats", "/stats.json", "/api/servers"]) {
      const r = await call(port, "GET", path);
      assertEquals(r.status, 401, path);
      assert(r.headers.get("www-authenticate")!.includes("Basic"));
    }
    // Orchestrator probes need no token: /healthz tells only ready / starting / stopping.
    assertEquals((await call(port, "GET", "/healthz")).status, 200);
    let r = await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"maint"}', {
      authorization: "Bearer wrong",
    });
    assertEquals(r.status, 401);
    assertEquals(rt.state.server("bck1", "srv1")!.admin, "READY");
    r = await call(port, "POST", "/api/servers/bck1/srv1/state", '{"state":"maint"}', {
      authorization: "Bearer s3cret",
    });
    assertEquals(r.status, 200);
    assertEquals(rt.state.server("bck1", "srv1")!.admin, "MAINT");
    r = await call(port, "GET", "/metrics", undefined, { authorization: "Bearer s3cret" });
    assertEquals(r.status, 200);
    // a browser after the password prompt: any user name, the token as password
    r = await call(port, "GET", "/stats.json", undefined, {
      authorization: "Basic " + btoa("admin:s3cret"),
    });
    assertEquals(r.status, 200);
    r = await call(port, "GET", "/stats.json", undefined, {
      authorization: "Basic " + btoa("admin:nope"),
    });
    assertEquals(r.status, 401);
  } finally {
    await admin.stop();
  }
});

Deno.test("auth: a non-loopback bind without a token is refused", async () => {
  const rt = fakeRuntime();
  for (const host of ["0.0.0.0", "*", "::", "192.0.2.10", "example.org"]) {
    const cfg = adminConfig(host, null);
    assert(adminConfigError(cfg), host);
    let err: unknown = null;
    try {
      const a = await startAdmin(rt, cfg);
      await a.stop();
    } catch (e) {
      err = e;
    }
    assert(err instanceof AdminConfigError, `${host}: ${err}`);
    assert(String(err).includes("token"));
  }
  assertEquals(adminConfigError(adminConfig("127.0.0.1", null)), null);
  assertEquals(adminConfigError(adminConfig("::1", null)), null);
  assertEquals(adminConfigError(adminConfig("0.0.0.0", "tok")), null);
  assert(isLoopbackHost("127.0.0.2"));
  assert(isLoopbackHost("[::1]"));
  assert(isLoopbackHost("localhost"));
  assert(!isLoopbackHost("128.0.0.1"));
  // with a token a wildcard bind is fine (bound here on the ephemeral port, then stopped)
  const a = await startAdmin(rt, adminConfig("0.0.0.0", "tok"));
  const r = await fetch(`http://127.0.0.1:${a.addr.port}/stats.json`);
  assertEquals(r.status, 401);
  await r.body?.cancel();
  await a.stop();
});

Deno.test("healthz: 200 when ready, 503 before ready and while stopping", async () => {
  const rt = fakeRuntime();
  rt.ready = false;
  const admin = await startAdmin(rt, adminConfig());
  const get = async () => {
    const r = await fetch(`http://127.0.0.1:${admin.addr.port}/healthz`);
    return [r.status, (await r.text()).trim()];
  };
  try {
    assertEquals(await get(), [503, "starting"]);
    rt.ready = true;
    assertEquals(await get(), [200, "ok"]);
    rt.stopping = true;
    assertEquals(await get(), [503, "stopping"]);
  } finally {
    await admin.stop();
  }
});

Deno.test("stats.json and SSE: a state change is pushed to /stats/events", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig(), { samplePeriodMs: 200 });
  try {
    const r = await fetch(`http://127.0.0.1:${admin.addr.port}/stats.json?history=1`);
    const s = await r.json();
    assertEquals(s.backends.map((b: { name: string }) => b.name), ["bck1", "bck2", "bck_lb"]);
    // checked, before its first check: HAProxy's "UP 1/3" (up, down at the first failure)
    assertEquals(s.backends[0].servers[0].status, "UP 1/3");
    assertEquals(s.backends[2].servers[0].status, "UP 1/3"); // a tracker shows its root

    const ev = await fetch(`http://127.0.0.1:${admin.addr.port}/stats/events`);
    assertEquals(ev.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = ev.body!.pipeThrough(new TextDecoderStream()).getReader();
    const srv = rt.state.server("bck2", "srv2")!;
    applyCheckResult(rt.state, srv, {
      ok: false,
      durationMs: 0,
      reason: 'Layer4 connection problem, info: "Connection refused"',
      status: "L4CON",
    });
    assertEquals(srv.health, "DOWN");
    let buf = "";
    const deadline = Date.now() + 3000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      for (const block of buf.split("\n\n")) {
        const data = block.split("\n").find((l) => l.startsWith("data: "));
        if (!data) continue;
        const snap = JSON.parse(data.slice(6));
        const st = snap.backends[1].servers[0].status;
        const via = snap.backends[2].servers[1].status;
        if (st === "DOWN" && via === "DOWN") seen = true;
      }
    }
    await reader.cancel();
    assert(seen, "DOWN pushed over SSE");
  } finally {
    await admin.stop();
  }
});

Deno.test("stop() ends open event streams and returns promptly", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig(), { samplePeriodMs: 100 });
  const ev = await fetch(`http://127.0.0.1:${admin.addr.port}/stats/events`);
  const reader = ev.body!.getReader();
  await reader.read(); // the stream is open
  const t0 = Date.now();
  await admin.stop();
  assert(Date.now() - t0 < 2000, "stopped quickly");
  // the client sees the end of the stream
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
});
