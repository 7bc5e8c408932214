// createLogging: turns a Config's log targets into routes over shared transports, formats
// access records (httplog / tcplog / JSON) and events, and never blocks or throws on the
// request path. See README "Logging" for the operator's view.
//
// Routing (HAProxy's rules, H26 §4.2 "log"):
// - access lines: the *frontend's* targets (`log global` copies the global ones), level info;
//   `option httplog` -> httplog layout, without it -> tcplog layout; `option dontlognull`
//   skips records with nullConnection.
// - state events (store.on): the backend's targets, or the global ones when the backend has
//   none, at the event's level (UP notice, DOWN alert, no server emerg).
// - program events (event()): the global targets.
// - no target anywhere in the configuration: everything goes to stdout, bare messages.

import {
  type Config,
  ConfigError,
  type Diagnostic,
  type Facility,
  type Level,
  type LogTarget,
} from "../config/model.ts";
import type { StateEvent, StateStore } from "../state.ts";
import { accessJson, formatHttplog, formatTcplog } from "./httplog.ts";
import type { AccessLogger, RequestLog } from "./record.ts";
import {
  type ByteWriter,
  type QueueOptions,
  StreamTransport,
  type Transport,
  UdpTransport,
  unixLogUnsupported,
  UnixTransport,
} from "./sink.ts";
import { encodeLineShared as encodeLine, formatSyslog, targetAccepts } from "./syslog.ts";
import { SenderHub, type SenderOptions, type SocketSpec } from "./sender.ts";

export interface Logging {
  access: AccessLogger;
  /** A program event (start, stop, reload, configuration warning) to the global targets. */
  event(level: Level, message: string): void;
  /** Messages dropped so far by all targets (full queue, send error, unresolvable host). */
  dropped(): number;
  /** Unsubscribes from the store, flushes (at most ~1 s) and closes every target. */
  stop(): Promise<void>;
  /** Additive: swaps the targets for a reloaded configuration, keeping shared sockets. */
  reload(config: Config): void;
}

export interface LoggingOptions extends QueueOptions, SenderOptions {
  /**
   * Where UDP/unix datagrams are sent from: "worker" (default) = a dedicated Worker owns the
   * sockets and the request path only batches finished lines (sender.ts); "main" = sent from
   * this thread (sink.ts).
   */
  sender?: "worker" | "main";
  /** Where "stdout" lines go (tests pass their own writer); default Deno.stdout. */
  stdout?: ByteWriter;
  /** Clock for syslog headers and JSON `time` (tests); default Date.now. */
  now?: () => number;
  /** PID in the syslog header; default Deno.pid. */
  pid?: number;
}

type Mode = "syslog" | "raw" | "json";

interface Route {
  transport: Transport;
  facility: Facility;
  level: Level;
  minLevel: Level;
  mode: Mode;
}

interface FrontendRoutes {
  routes: Route[];
  httplog: boolean;
  dontlognull: boolean;
}

/** Largest UDP payload; JSON lines are never cut (a cut object would not parse). */
const MAX_UDP = 65507;

/** Errors for targets this process cannot serve (unix sockets without --unstable-net). */
export function checkLogTargets(config: Config): Diagnostic[] {
  const why = unixLogUnsupported();
  if (!why) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<LogTarget>();
  const all = [
    ...config.global.log,
    ...config.frontends.flatMap((f) => f.settings.log),
    ...config.backends.flatMap((b) => b.settings.log),
  ];
  for (const t of all) {
    if (t.kind !== "unix" || seen.has(t)) continue;
    seen.add(t);
    out.push({ ...t.loc, severity: "error", message: `log target '${t.text}': ${why}` });
  }
  // The same target copied by `log global` has the same loc: report it once.
  return out.filter((d, i) =>
    out.findIndex((e) => e.file === d.file && e.line === d.line && e.col === d.col) === i
  );
}

function hasAnyTarget(config: Config): boolean {
  return config.global.log.length > 0 ||
    config.frontends.some((f) => f.settings.log.length > 0) ||
    config.backends.some((b) => b.settings.log.length > 0);
}

export function createLogging(
  config: Config,
  store: StateStore,
  opts: LoggingOptions = {},
): Logging {
  const now = opts.now ?? Date.now;
  const pid = opts.pid ?? Deno.pid;
  const stdoutWriter: ByteWriter = opts.stdout ?? Deno.stdout;
  let transports = new Map<string, Transport>();
  let retiredDrops = 0;
  let oversize = 0;
  let tag = config.global.logTag || "wtproxy";
  let globalRoutes: Route[] = [];
  let frontends = new Map<string, FrontendRoutes>();
  let backends = new Map<string, Route[]>();
  let stopped = false;
  const retiring = new Set<Promise<void>>();
  const mainTransport = (spec: SocketSpec): Transport =>
    spec.kind === "udp"
      ? new UdpTransport(spec.host, spec.port, opts)
      : new UnixTransport(spec.path, opts);
  let hub: SenderHub | null = null;
  function socketTransport(key: string, spec: SocketSpec): Transport {
    if (opts.sender === "main") return mainTransport(spec);
    hub ??= new SenderHub(opts, mainTransport);
    return hub.transport(key, spec);
  }

  function transportFor(t: LogTarget | null, pool: Map<string, Transport>): Transport {
    const key = t === null || t.kind === "stdout"
      ? "stdout"
      : t.kind === "udp"
      ? `udp:${t.host}:${t.port}`
      : `unix:${t.path}`;
    let tr = pool.get(key) ?? transports.get(key);
    if (!tr) {
      if (key === "stdout") tr = new StreamTransport("stdout", stdoutWriter);
      else if (t!.kind === "udp") {
        tr = socketTransport(key, { kind: "udp", host: t!.host, port: t!.port });
      } else tr = socketTransport(key, { kind: "unix", path: t!.path! });
    }
    pool.set(key, tr);
    return tr;
  }

  function routesOf(targets: LogTarget[], pool: Map<string, Transport>): Route[] {
    return targets.map((t) => ({
      transport: transportFor(t, pool),
      facility: t.facility,
      level: t.level,
      minLevel: t.minLevel,
      mode: t.format === "json" ? "json" : t.kind === "stdout" ? "raw" : "syslog",
    }));
  }

  function build(cfg: Config): void {
    const errors = checkLogTargets(cfg);
    if (errors.length) throw new ConfigError(errors);
    const pool = new Map<string, Transport>();
    const fallback = hasAnyTarget(cfg) ? null : [{
      transport: transportFor(null, pool),
      facility: "local0" as Facility,
      level: "debug" as Level,
      minLevel: "emerg" as Level,
      mode: "raw" as Mode,
    }];
    const g = fallback ?? routesOf(cfg.global.log, pool);
    const fes = new Map<string, FrontendRoutes>();
    for (const f of cfg.frontends) {
      fes.set(f.name, {
        routes: (fallback ?? routesOf(f.settings.log, pool)).filter((r) =>
          targetAccepts(r, "info")
        ),
        // A tcp frontend logs tcplog whatever it says (HAProxy warns and falls back too).
        httplog: f.settings.options.httplog && f.settings.mode === "http",
        dontlognull: f.settings.options.dontlognull,
      });
    }
    const bes = new Map<string, Route[]>();
    for (const b of cfg.backends) {
      bes.set(b.name, fallback ?? (b.settings.log.length ? routesOf(b.settings.log, pool) : g));
    }
    // Commit: retire transports no longer used (flushed and closed in the background).
    for (const [key, tr] of transports) {
      if (pool.has(key)) continue;
      const p = tr.close().then(() => {
        retiredDrops += tr.dropped();
        retiring.delete(p);
      });
      retiring.add(p);
    }
    transports = pool;
    tag = cfg.global.logTag || "wtproxy";
    globalRoutes = g;
    frontends = fes;
    backends = bes;
  }

  function deliver(
    routes: Route[],
    level: Level,
    message: string,
    json: () => Record<string, unknown>,
  ): void {
    if (stopped) return;
    let jsonLine: Uint8Array | null = null;
    let rawLine: Uint8Array | null = null;
    let t = 0;
    for (const r of routes) {
      if (!targetAccepts(r, level)) continue;
      if (r.mode === "syslog") {
        if (t === 0) t = now();
        r.transport.send(encodeLine(formatSyslog(r.facility, level, tag, pid, message, t)));
      } else if (r.mode === "raw") {
        rawLine ??= encodeLine(message + "\n", MAX_UDP);
        r.transport.send(rawLine);
      } else {
        if (jsonLine === null) {
          if (t === 0) t = now();
          const obj = { time: new Date(t).toISOString(), level, tag, pid, ...json() };
          jsonLine = encodeLine(JSON.stringify(obj) + "\n", Infinity);
        }
        // Never cut a JSON object: a too-big one is dropped (and counted by the transport).
        if (jsonLine.length > MAX_UDP && r.transport.key !== "stdout") {
          oversize++;
          continue;
        }
        r.transport.send(jsonLine);
      }
    }
  }

  const access: AccessLogger = {
    request(frontend: string, rec: RequestLog): void {
      try {
        const fe = frontends.get(frontend);
        if (!fe || fe.routes.length === 0) return;
        if (fe.dontlognull && rec.nullConnection) return;
        const line = fe.httplog ? formatHttplog(rec) : formatTcplog(rec);
        deliver(fe.routes, "info", line, () => ({ ...accessJson(rec) }));
      } catch {
        // A log line must never break a request.
      }
    },
  };

  function onState(e: StateEvent): void {
    try {
      const routes = backends.get(e.backend) ?? globalRoutes;
      deliver(routes, e.level, e.message, () => ({
        type: "event",
        kind: e.kind,
        backend: e.backend,
        server: e.server,
        message: e.message,
        event_ts: e.time,
      }));
    } catch {
      // never throw into the health room
    }
  }

  build(config);
  const unsubscribe = store.on(onState);

  return {
    access,
    event(level: Level, message: string): void {
      try {
        deliver(globalRoutes, level, message, () => ({ type: "event", kind: "program", message }));
      } catch {
        // never throw
      }
    },
    dropped(): number {
      let n = retiredDrops + oversize;
      for (const tr of transports.values()) n += tr.dropped();
      return n;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      unsubscribe();
      stopped = true;
      await Promise.all([...transports.values()].map((tr) => tr.close(1000)));
      await Promise.all([...retiring]);
    },
    reload(cfg: Config): void {
      if (stopped) return;
      build(cfg);
    },
  };
}
