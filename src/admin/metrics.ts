// /metrics in the Prometheus text exposition format (version 0.0.4).
// Names follow HAProxy's built-in exporter (addons/promex): haproxy_process_*,
// haproxy_frontend_*, haproxy_backend_*, haproxy_server_* with labels proxy="NAME" and
// server="NAME", so existing HAProxy dashboards and alerts keep working. Metrics HAProxy's
// exporter does not have (WebSockets, response-time histograms, last check result) use the
// same prefix and naming style; README.md lists which ones are ours.

import { type Counters, type ServerState, TIME_BUCKETS_MS } from "../state.ts";
import type { AdminRuntime } from "./runtime.ts";
import { isReady, requestsPerWorker, VERSION } from "./snapshot.ts";

type Labels = Record<string, string>;
type Kind = "counter" | "gauge" | "histogram";

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function fmtLabels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Collects samples per metric family so each family is written once, HELP and TYPE first. */
class Exposition {
  private families = new Map<string, { help: string; kind: Kind; lines: string[] }>();

  family(name: string, kind: Kind, help: string) {
    let f = this.families.get(name);
    if (!f) {
      f = { help, kind, lines: [] };
      this.families.set(name, f);
    }
    return f;
  }

  add(name: string, kind: Kind, help: string, labels: Labels, value: number): void {
    this.family(name, kind, help).lines.push(`${name}${fmtLabels(labels)} ${fmtValue(value)}`);
  }

  histogram(name: string, help: string, labels: Labels, c: Counters): void {
    const f = this.family(name, "histogram", help);
    let cum = 0;
    const buckets = c.timeBuckets;
    for (let i = 0; i <= TIME_BUCKETS_MS.length; i++) {
      cum += buckets[i];
      const le = i < TIME_BUCKETS_MS.length ? String(TIME_BUCKETS_MS[i] / 1000) : "+Inf";
      f.lines.push(`${name}_bucket${fmtLabels({ ...labels, le })} ${cum}`);
    }
    f.lines.push(`${name}_sum${fmtLabels(labels)} ${c.timeSum / 1000}`);
    f.lines.push(`${name}_count${fmtLabels(labels)} ${c.timeCount}`);
  }

  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${escapeHelp(f.help)}`);
      out.push(`# TYPE ${name} ${f.kind}`);
      out.push(...f.lines);
    }
    return out.join("\n") + "\n";
  }
}

const CODES = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];
export const SERVER_STATES = ["UP", "DOWN", "MAINT", "DRAIN", "NOLB"] as const;

/** The shared counters of a frontend, backend or server, under `haproxy_<scope>_...`. */
function counters(e: Exposition, scope: string, labels: Labels, c: Counters): void {
  const p = `haproxy_${scope}_`;
  e.add(p + "current_sessions", "gauge", "Number of current sessions.", labels, c.current);
  e.add(p + "max_sessions", "gauge", "Maximum observed number of sessions.", labels, c.max);
  const reqHelp = scope === "frontend"
    ? "Total number of HTTP requests received."
    : "Total number of HTTP requests forwarded.";
  e.add(p + "http_requests_total", "counter", reqHelp, labels, c.requests);
  for (let i = 1; i <= 6; i++) {
    const idx = i % 6; // 1..5 then 0 ("other") last, as HAProxy orders them
    e.add(
      p + "http_responses_total",
      "counter",
      "Total number of HTTP responses, by status class.",
      { ...labels, code: CODES[idx] },
      c.responses[idx],
    );
  }
  e.add(p + "bytes_in_total", "counter", "Current total of incoming bytes.", labels, c.bytesIn);
  e.add(p + "bytes_out_total", "counter", "Current total of outgoing bytes.", labels, c.bytesOut);
  if (scope !== "frontend") {
    e.add(
      p + "connection_errors_total",
      "counter",
      "Total number of connection errors.",
      labels,
      c.connectErrors,
    );
    e.add(
      p + "response_errors_total",
      "counter",
      "Total number of response errors.",
      labels,
      c.responseErrors,
    );
    e.add(
      p + "retry_warnings_total",
      "counter",
      "Total number of retry warnings.",
      labels,
      c.retries,
    );
    e.add(
      p + "redispatch_warnings_total",
      "counter",
      "Total number of redispatch warnings.",
      labels,
      c.redispatches,
    );
  }
  e.add(
    p + "websockets_current",
    "gauge",
    "Number of open WebSocket tunnels (wtproxy).",
    labels,
    c.wsOpen,
  );
  e.add(
    p + "websockets_total",
    "counter",
    "Total number of WebSocket tunnels opened (wtproxy).",
    labels,
    c.wsTotal,
  );
  e.add(
    p + "websocket_messages_in_total",
    "counter",
    "WebSocket messages received from clients (wtproxy).",
    labels,
    c.wsMessagesIn,
  );
  e.add(
    p + "websocket_messages_out_total",
    "counter",
    "WebSocket messages sent to clients (wtproxy).",
    labels,
    c.wsMessagesOut,
  );
  e.add(
    p + "total_time_average_seconds",
    "gauge",
    "Average total time (request to last response byte) since start.",
    labels,
    c.timeCount > 0 ? c.timeSum / c.timeCount / 1000 : 0,
  );
  e.histogram(
    p + "http_total_time_seconds",
    "Histogram of total request time, first request byte to last response byte (wtproxy).",
    labels,
    c,
  );
}

/** The whole /metrics body for the runtime's current configuration and state. */
export function renderMetrics(rt: AdminRuntime): string {
  const e = new Exposition();
  const cfg = rt.config;
  const store = rt.state;
  const now = Date.now();

  e.add(
    "haproxy_process_build_info",
    "gauge",
    "Build info.",
    { version: VERSION, name: "wtproxy" },
    1,
  );
  e.add(
    "haproxy_process_start_time_seconds",
    "gauge",
    "Start time in seconds.",
    {},
    Math.floor(store.startedAt / 1000),
  );
  e.add(
    "haproxy_process_uptime_seconds",
    "gauge",
    "How long ago this worker process was started (seconds).",
    {},
    Math.floor((now - store.startedAt) / 1000),
  );
  e.add(
    "haproxy_process_current_connections",
    "gauge",
    "Number of active sessions.",
    {},
    store.activeConnections,
  );
  e.add(
    "haproxy_process_nbthread",
    "gauge",
    "Number of started threads.",
    {},
    rt.nbthread ?? 1,
  );
  requestsPerWorker(store).forEach((n, i) =>
    e.add(
      "wtproxy_worker_requests_total",
      "counter",
      "Requests received by each data-plane worker thread (how even the accept spread is).",
      { thread: String(i + 1) },
      n,
    )
  );
  e.add(
    "haproxy_process_max_connections",
    "gauge",
    "Maximum number of concurrent connections.",
    {},
    cfg.global.maxconn,
  );
  e.add(
    "haproxy_process_stopping",
    "gauge",
    "Non zero means stopping in progress.",
    {},
    rt.stopping ? 1 : 0,
  );
  e.add(
    "haproxy_process_ready",
    "gauge",
    "1 when the configuration is loaded and listeners are up (wtproxy, as /healthz).",
    {},
    isReady(rt) ? 1 : 0,
  );
  if (rt.logging) {
    e.add(
      "haproxy_process_dropped_logs_total",
      "counter",
      "Total number of dropped logs.",
      {},
      rt.logging.dropped(),
    );
  }

  for (const f of cfg.frontends) {
    const fs = store.frontends.get(f.name);
    const labels = { proxy: f.name };
    for (const state of ["UP", "DOWN"]) {
      e.add(
        "haproxy_frontend_status",
        "gauge",
        "Current status of the service, per state label value.",
        { ...labels, state },
        (state === "UP") === !rt.stopping ? 1 : 0,
      );
    }
    e.add(
      "haproxy_frontend_limit_sessions",
      "gauge",
      "Configured session limit.",
      labels,
      f.settings.maxconn || cfg.global.maxconn,
    );
    if (fs) counters(e, "frontend", labels, fs.counters);
  }

  for (const b of cfg.backends) {
    const bs = store.backends.get(b.name);
    const labels = { proxy: b.name };
    let active = 0;
    let backup = 0;
    let weight = 0;
    for (const sc of b.servers) {
      const s = store.server(b.name, sc.name);
      if (!s?.usable) continue;
      if (sc.backup) backup++;
      else active++;
      weight += s.weight;
    }
    const up = store.nbsrv(b) > 0;
    for (const state of ["UP", "DOWN"]) {
      e.add(
        "haproxy_backend_status",
        "gauge",
        "Current status of the service, per state label value.",
        { ...labels, state },
        (state === "UP") === up ? 1 : 0,
      );
    }
    e.add(
      "haproxy_backend_active_servers",
      "gauge",
      "Current number of active servers.",
      labels,
      active,
    );
    e.add(
      "haproxy_backend_backup_servers",
      "gauge",
      "Current number of backup servers.",
      labels,
      backup,
    );
    e.add(
      "haproxy_backend_nbsrv",
      "gauge",
      "Value of nbsrv() for this backend as ACLs see it (wtproxy).",
      labels,
      store.nbsrv(b),
    );
    e.add(
      "haproxy_backend_weight",
      "gauge",
      "Service weight (sum of usable servers' weights).",
      labels,
      weight,
    );
    if (bs) counters(e, "backend", labels, bs.counters);
  }

  for (const b of cfg.backends) {
    for (const sc of b.servers) {
      const s = store.server(b.name, sc.name);
      if (s) serverMetrics(e, s, now);
      if (s && cfg.global.wtSessions) {
        e.add(
          "wtproxy_server_wt_sessions",
          "gauge",
          "Live Wt sessions of the server's process (wtproxy).",
          { proxy: s.backend, server: s.name },
          s.wtSessions,
        );
        e.add(
          "wtproxy_server_wt_sessions_lost_total",
          "counter",
          "Wt sessions the server's process lost: DOWN, MAINT, moved by DNS (wtproxy).",
          { proxy: s.backend, server: s.name },
          s.wtSessionsLost,
        );
      }
    }
  }
  return e.text();
}

function serverMetrics(e: Exposition, s: ServerState, now: number): void {
  const labels = { proxy: s.backend, server: s.name };
  const cur = currentState(s);
  for (const state of SERVER_STATES) {
    e.add(
      "haproxy_server_status",
      "gauge",
      "Current status of the service, per state label value.",
      { ...labels, state },
      state === cur ? 1 : 0,
    );
  }
  e.add("haproxy_server_weight", "gauge", "Service weight.", labels, s.weight);
  e.add("haproxy_server_uweight", "gauge", "Configured (user) weight.", labels, s.config.weight);
  e.add(
    "haproxy_server_usable",
    "gauge",
    "1 when the server takes new traffic: UP, READY and weight > 0 (wtproxy).",
    labels,
    s.usable ? 1 : 0,
  );
  e.add(
    "haproxy_server_check_last_change_seconds",
    "gauge",
    "How long ago the last server state change happened (seconds).",
    labels,
    Math.max(0, Math.floor((now - s.lastChange) / 1000)),
  );
  if (s.lastCheck) {
    e.add(
      "haproxy_server_check_success",
      "gauge",
      "1 when the last health check passed, 0 when it failed (wtproxy).",
      labels,
      s.lastCheck.ok ? 1 : 0,
    );
    e.add(
      "haproxy_server_check_duration_seconds",
      "gauge",
      "Total duration of the latest server health check, in seconds.",
      labels,
      s.lastCheck.durationMs / 1000,
    );
    e.add(
      "haproxy_server_check_last_time_seconds",
      "gauge",
      "Time of the latest server health check, Unix seconds (wtproxy).",
      labels,
      Math.floor(s.lastCheck.time / 1000),
    );
  }
  e.add(
    "haproxy_server_check_failures_total",
    "counter",
    "Total number of failed individual health checks.",
    labels,
    s.failedChecks,
  );
  e.add(
    "haproxy_server_check_up_down_total",
    "counter",
    "Total number of failed checks causing UP to DOWN server transitions.",
    labels,
    s.downTransitions,
  );
  const downNow = s.health === "DOWN" ? Math.max(0, now - s.lastChange) : 0;
  e.add(
    "haproxy_server_downtime_seconds_total",
    "counter",
    "Total downtime (in seconds) for the service.",
    labels,
    Math.floor((s.downTimeMs + downNow) / 1000),
  );
  counters(e, "server", labels, s.counters);
}

/** The one state label set to 1 in haproxy_server_status (HAProxy's precedence). */
export function currentState(s: ServerState): (typeof SERVER_STATES)[number] {
  if (s.effectiveAdmin === "MAINT") return "MAINT";
  if (s.effectiveHealth === "DOWN") return "DOWN";
  if (s.effectiveAdmin === "DRAIN") return "DRAIN";
  if (s.effectiveNolb) return "NOLB";
  return "UP";
}
