// End to end through the real proxy (src/runtime.ts): two Wt-like backends, the recipe's
// routing, the admin listener beside it. maint on bck1/srv1 moves wt1 traffic to srv2,
// ready brings it back, and /metrics counts what went through.

import { testRuntime } from "../helpers/threads.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

import { adminConfig, metric, parsePrometheus, recipeConfig } from "./fixture.ts";

function backendServer(name: string) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      if (new URL(req.url).pathname === "/slow") await new Promise((r) => setTimeout(r, 600));
      return new Response(name, { headers: { "content-type": "text/plain" } });
    },
  );
}

Deno.test("e2e: admin maint moves wt1 traffic to srv2, ready brings it back; metrics move", async () => {
  const wt1 = backendServer("srv1");
  const wt2 = backendServer("srv2");
  const config = recipeConfig(wt1.addr.port, wt2.addr.port, 0);
  // The runtime starts the admin listener itself from config.admin (port 0 here).
  const runtime = await testRuntime({ ...config, admin: adminConfig() }, { logging: false });
  const a = `http://127.0.0.1:${runtime.adminAddr!.port}`;
  const fe = runtime.listeners[0];
  const front = `http://127.0.0.1:${fe.port}`;
  const get = async (path: string) => {
    const r = await fetch(front + path);
    return `${r.status} ${await r.text()}`;
  };
  const post = async (path: string, body: unknown) => {
    const r = await fetch(a + path, { method: "POST", body: JSON.stringify(body) });
    return [r.status, await r.json()];
  };
  try {
    assertEquals((await fetch(a + "/healthz")).status, 200);
    for (let i = 0; i < 3; i++) assertEquals(await get("/?wtd=wt1abcdef"), "200 srv1");

    const [st] = await post("/api/servers/bck1/srv1/state", { state: "maint" });
    assertEquals(st, 200);
    for (let i = 0; i < 4; i++) assertEquals(await get("/?wtd=wt1abcdef"), "200 srv2");

    await post("/api/servers/bck1/srv1/state", { state: "ready" });
    for (let i = 0; i < 3; i++) assertEquals(await get("/?wtd=wt1abcdef"), "200 srv1");

    // drain behaves the same for routing (haproxy-semantics fact 10)
    await post("/api/servers/bck1/srv1/state", { state: "drain" });
    assertEquals(await get("/?wtd=wt1abcdef"), "200 srv2");
    await post("/api/servers/bck1/srv1/state", { state: "ready" });
    assertEquals(await get("/?wtd=wt1abcdef"), "200 srv1");

    // A request is counted as it ends (logged, its time and bytes known), which can be a moment
    // after its client has the answer (the count and the client's read race across threads at
    // nbthread 2): read the metrics until the last request shows, a bounded number of times.
    const scrape = async () => parsePrometheus(await (await fetch(a + "/metrics")).text());
    let m = await scrape();
    const answered = () =>
      metric(m, "haproxy_frontend_http_responses_total", { proxy: "proxied", code: "2xx" });
    for (let i = 0; i < 40 && answered() < 12; i++) {
      await new Promise((r) => setTimeout(r, 25));
      m = await scrape();
    }
    assertEquals(metric(m, "haproxy_frontend_http_requests_total", { proxy: "proxied" }), 12);
    assertEquals(
      metric(m, "haproxy_frontend_http_responses_total", { proxy: "proxied", code: "2xx" }),
      12,
    );
    assertEquals(
      metric(m, "haproxy_server_http_requests_total", { proxy: "bck1", server: "srv1" }),
      7,
    );
    assertEquals(
      metric(m, "haproxy_server_http_requests_total", { proxy: "bck_lb", server: "srv2" }),
      5,
    );
    assert(metric(m, "haproxy_frontend_bytes_out_total", { proxy: "proxied" }) > 0);
    // GETs only: bytes in are the request heads, as HAProxy counts them (12 x "GET /?wtd=...").
    assert(metric(m, "haproxy_frontend_bytes_in_total", { proxy: "proxied" }) >= 12 * 30);
    assert(
      metric(m, "haproxy_backend_http_total_time_seconds_count", { proxy: "bck1" }) >= 7,
    );

    // while the proxy stops (here: drains a slow request), /healthz answers 503
    const slow = fetch(front + "/slow?wtd=wt2abc").then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100));
    const stopped = runtime.stop(3000);
    const hz = await fetch(a + "/healthz");
    assertEquals([hz.status, (await hz.text()).trim()], [503, "stopping"]);
    await stopped;
    assertEquals(await slow, "srv2");
  } finally {
    await runtime.stop();
    await wt1.shutdown();
    await wt2.shutdown();
  }
});
