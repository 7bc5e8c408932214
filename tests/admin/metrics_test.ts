import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startAdmin } from "../../src/admin/server.ts";
import { escapeHelp, escapeLabel } from "../../src/admin/metrics.ts";
import { adminConfig, fakeRuntime, metric, parsePrometheus } from "./fixture.ts";

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assertEquals(r.status, 200);
  assert(r.headers.get("content-type")!.startsWith("text/plain; version=0.0.4"));
  return await r.text();
}

Deno.test("metrics: parse as Prometheus text and move as requests flow", async () => {
  const rt = fakeRuntime();
  const admin = await startAdmin(rt, adminConfig());
  try {
    const fams = parsePrometheus(await scrape(admin.addr.port));
    // every family has HELP and TYPE
    for (const f of fams.values()) {
      assert(f.help, `${f.name} has HELP`);
      assert(f.type, `${f.name} has TYPE`);
    }
    for (
      const name of [
        "haproxy_process_uptime_seconds",
        "haproxy_frontend_http_requests_total",
        "haproxy_backend_http_requests_total",
        "haproxy_server_http_responses_total",
        "haproxy_server_status",
        "haproxy_server_weight",
        "haproxy_backend_connection_errors_total",
        "haproxy_server_retry_warnings_total",
        "haproxy_server_redispatch_warnings_total",
        "haproxy_server_current_sessions",
        "haproxy_server_websockets_current",
        "haproxy_server_http_total_time_seconds",
        "haproxy_backend_active_servers",
      ]
    ) assert(fams.has(name), `family ${name}`);
    assertEquals(fams.get("haproxy_frontend_http_requests_total")!.type, "counter");
    assertEquals(fams.get("haproxy_server_http_total_time_seconds")!.type, "histogram");
    const srv1 = { proxy: "bck1", server: "srv1" };
    assertEquals(metric(fams, "haproxy_server_status", { ...srv1, state: "UP" }), 1);
    assertEquals(metric(fams, "haproxy_server_status", { ...srv1, state: "DOWN" }), 0);
    assertEquals(metric(fams, "haproxy_frontend_http_requests_total", { proxy: "proxied" }), 0);
    assertEquals(metric(fams, "haproxy_backend_active_servers", { proxy: "bck_lb" }), 2);

    // requests flow (as the proxy room moves the counters)
    const fe = rt.state.frontends.get("proxied")!.counters;
    const be = rt.state.backends.get("bck1")!.counters;
    const sv = rt.state.server("bck1", "srv1")!;
    for (const [status, ms] of [[200, 3], [200, 40], [503, 1200]] as const) {
      for (const c of [fe, be, sv.counters]) {
        c.requests++;
        c.countStatus(status);
        c.bytesIn += 100;
        c.bytesOut += 1000;
        c.observeTime(ms);
      }
    }
    be.retries += 3;
    sv.counters.retries += 3;
    sv.counters.connectErrors += 4;
    be.redispatches++;
    sv.counters.open();
    sv.counters.wsOpen++;
    sv.counters.wsTotal++;
    sv.lastCheck = { time: Date.now(), ok: true, durationMs: 12, info: "L4OK" };
    rt.dropped = 7;

    const after = parsePrometheus(await scrape(admin.addr.port));
    assertEquals(metric(after, "haproxy_frontend_http_requests_total", { proxy: "proxied" }), 3);
    assertEquals(metric(after, "haproxy_backend_http_requests_total", { proxy: "bck1" }), 3);
    assertEquals(metric(after, "haproxy_server_http_requests_total", srv1), 3);
    assertEquals(
      metric(after, "haproxy_server_http_responses_total", { ...srv1, code: "2xx" }),
      2,
    );
    assertEquals(
      metric(after, "haproxy_server_http_responses_total", { ...srv1, code: "5xx" }),
      1,
    );
    assertEquals(metric(after, "haproxy_frontend_bytes_in_total", { proxy: "proxied" }), 300);
    assertEquals(metric(after, "haproxy_frontend_bytes_out_total", { proxy: "proxied" }), 3000);
    assertEquals(metric(after, "haproxy_server_retry_warnings_total", srv1), 3);
    assertEquals(metric(after, "haproxy_server_connection_errors_total", srv1), 4);
    assertEquals(metric(after, "haproxy_backend_redispatch_warnings_total", { proxy: "bck1" }), 1);
    assertEquals(metric(after, "haproxy_server_current_sessions", srv1), 1);
    assertEquals(metric(after, "haproxy_server_websockets_current", srv1), 1);
    assertEquals(metric(after, "haproxy_server_check_success", srv1), 1);
    assertEquals(metric(after, "haproxy_server_check_duration_seconds", srv1), 0.012);
    assertEquals(metric(after, "haproxy_process_dropped_logs_total"), 7);
    // histogram, in seconds: 3 ms <= 0.005, 40 ms <= 0.05, 1200 ms <= 2.5
    const h = "haproxy_server_http_total_time_seconds";
    assertEquals(metric(after, `${h}_bucket`, { ...srv1, le: "0.005" }), 1);
    assertEquals(metric(after, `${h}_bucket`, { ...srv1, le: "0.05" }), 2);
    assertEquals(metric(after, `${h}_bucket`, { ...srv1, le: "1" }), 2);
    assertEquals(metric(after, `${h}_bucket`, { ...srv1, le: "2.5" }), 3);
    assertEquals(metric(after, `${h}_bucket`, { ...srv1, le: "+Inf" }), 3);
    assertEquals(metric(after, `${h}_count`, srv1), 3);
    assertEquals(metric(after, `${h}_sum`, srv1), 1.243);

    // a server going DOWN shows in status and in the backend counts
    sv.health = "DOWN";
    const down = parsePrometheus(await scrape(admin.addr.port));
    assertEquals(metric(down, "haproxy_server_status", { ...srv1, state: "DOWN" }), 1);
    assertEquals(metric(down, "haproxy_server_status", { ...srv1, state: "UP" }), 0);
    assertEquals(metric(down, "haproxy_backend_status", { proxy: "bck1", state: "DOWN" }), 1);
    assertEquals(metric(down, "haproxy_backend_active_servers", { proxy: "bck_lb" }), 1);
    assertEquals(
      metric(down, "haproxy_server_status", { proxy: "bck_lb", server: "srv1", state: "DOWN" }),
      1,
    );
  } finally {
    await admin.stop();
  }
});

Deno.test("metrics: label values and HELP text are escaped", async () => {
  assertEquals(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assertEquals(escapeHelp("x\\y\nz"), "x\\\\y\\nz");
  const rt = fakeRuntime();
  // a name no real config would have, to prove the round trip through the parser
  const odd = 'fe"odd\\name\nx';
  rt.config.frontends[0] = { ...rt.config.frontends[0], name: odd };
  rt.state.sync(rt.config);
  rt.state.frontends.get(odd)!.counters.requests = 5;
  const admin = await startAdmin(rt, adminConfig());
  try {
    const fams = parsePrometheus(await scrape(admin.addr.port));
    assertEquals(metric(fams, "haproxy_frontend_http_requests_total", { proxy: odd }), 5);
  } finally {
    await admin.stop();
  }
});
