// The running proxy built from a Config: state store, health checks, logging, compiled routing
// and balancing (a snapshot swapped on reload), listeners, the admin listener, and a drain with
// a deadline on stop.

import type { Config } from "./config/model.ts";
import type { AccessLogger } from "./log/record.ts";
import { createLogging, type Logging, type LoggingOptions } from "./log/logging.ts";
import { logReload, logStart, logStopped, logStopping } from "./log/events.ts";
import { startAdmin } from "./admin/server.ts";
import { type Health, startHealth } from "./health/scheduler.ts";
import { StateStore } from "./state.ts";
import { compileSnapshot } from "./proxy/compile.ts";
import {
  bindAddresses,
  type ListenerHandle,
  type RuntimeCore,
  startListener,
} from "./proxy/frontend.ts";
import { type Connector, defaultConnector } from "./upstream/conn.ts";
import { Pool, type PoolOptions } from "./upstream/pool.ts";
import { serverAddr } from "./proxy/attempt.ts";
import { type WtSessionSettings, WtSessionTable } from "./session/table.ts";
import { startTcpListener } from "./tcp/listener.ts";
import { SessionTable } from "./tcp/sessions.ts";
import { type Discovery, type DiscoveryOptions, startDiscovery } from "./discovery/discovery.ts";
import { localAddressSink } from "./discovery/sink.ts";

export interface RuntimeOptions {
  /** Where access-log records go; default: the logging room's (createLogging). */
  logger?: AccessLogger;
  /** false: no createLogging at all (tests); or options for it. */
  logging?: false | LoggingOptions;
  /** Start background health checks (default true). */
  health?: boolean;
  /** Start the admin listener when config.admin is set (default true). */
  admin?: boolean;
  /** Replaces Deno.connect for server connections (tests: black-holed servers). */
  connector?: Connector;
  /** Keep-alive pool sizing. */
  pool?: PoolOptions;
  /** Grace period of stop() when none is given (default 10 s). */
  graceMs?: number;
  /** DNS discovery options (tests: an injected resolver). */
  discovery?: Pick<DiscoveryOptions, "resolverFor" | "resolvConf">;
}

export interface Runtime {
  readonly config: Config;
  readonly state: StateStore;
  readonly listeners: { frontend: string; hostname: string; port: number }[];
  readonly ready: boolean;
  readonly stopping: boolean;
  readonly logging?: Logging;
  /** Where the admin listener is bound (null when off); its port is known even for port 0. */
  readonly adminAddr: Deno.NetAddr | null;
  /** The live Wt session table (control plane) when `wt-sessions` is set, else null. */
  readonly sessions: WtSessionTable | null;
  /** Swaps the configuration; state (health, counters) is kept, changed binds are rebound. */
  reload(config: Config): Promise<void>;
  /** Stops accepting, drains in-flight requests until `graceMs`, then cuts what is left. */
  stop(graceMs?: number): Promise<void>;
  /** DNS discovery (null when no server uses `resolvers`). */
  readonly discovery: Discovery | null;
}

const NOOP_LOGGER: AccessLogger = { request() {} };

/**
 * What a listener is kept by across a reload: its address, whichever frontend it serves (a
 * renamed frontend, or a bind moved to another one, keeps the socket instead of failing to bind
 * a port still held by the old listener). Port 0 (ephemeral) binds stay per frontend.
 */
function listenerKey(
  frontend: string,
  mode: string,
  bind: { host: string; port: number },
): string {
  return bind.port === 0 ? `${frontend}|${bind.host}|0` : `${mode}|${bind.host}|${bind.port}`;
}

export async function startRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const store = new StateStore();
  store.sync(config);
  const logging = opts.logging === false ? undefined : createLogging(config, store, opts.logging);
  const logger = opts.logger ?? logging?.access ?? NOOP_LOGGER;
  const shutdown = new AbortController();
  let sessions = config.global.wtSessions
    ? new WtSessionTable(store, sessionSettings(config)!, config)
    : null;
  const core: RuntimeCore = {
    sessions,
    snapshot: compileSnapshot(config, store, undefined, sessions),
    store,
    pool: new Pool(opts.pool),
    connector: opts.connector ?? defaultConnector,
    logger,
    inflight: new Set(),
    shutdown: shutdown.signal,
    active: 0,
    tcpSessions: new SessionTable(),
  };
  const unwatch = core.tcpSessions.watch(store);
  let health: Health | null = null;
  if (opts.health !== false) {
    health = startHealth(config, store);
  }
  // DNS discovery (control plane) pushes addresses to this thread's data plane directly.
  const sink = localAddressSink(store, core.pool);
  const discoveryOpts: DiscoveryOptions = {
    ...opts.discovery,
    onAddress: (key) => health?.kick(key),
  };
  const usesDns = (c: Config) => c.backends.some((b) => b.servers.some((s) => s.dns));
  let discovery: Discovery | null = null;
  try {
    if (usesDns(config)) discovery = await startDiscovery(config, store, sink, discoveryOpts);
  } catch (err) {
    await health?.stop();
    throw err;
  }

  let current = config;
  let handles: ListenerHandle[] = [];
  let ready = false;
  let stopping = false;
  let admin: { addr: Deno.NetAddr; stop(): Promise<void> } | null = null;

  /** Opens `cfg`'s listeners, taking kept ones out of `keep`; `moved` gets the kept listeners
   * whose frontend changes (applied by the caller once the new snapshot is in place). */
  const openListeners = (
    cfg: Config,
    keep: Map<string, ListenerHandle[]>,
    moved: [ListenerHandle, string][] = [],
  ) => {
    const out: ListenerHandle[] = [];
    const opened = new Set<string>();
    try {
      for (const fe of cfg.frontends) {
        const backlog = fe.settings.maxconn > 0 ? fe.settings.maxconn : cfg.global.maxconn;
        for (const bind of fe.binds) {
          const key = listenerKey(fe.name, fe.settings.mode, bind);
          const kept = keep.get(key);
          if (kept) {
            for (const h of kept) if (h.frontend !== fe.name) moved.push([h, fe.name]);
            for (const h of kept) opened.add(`${fe.name} ${h.hostname} ${h.port}`);
            out.push(...kept);
            keep.delete(key);
            continue;
          }
          for (const host of bindAddresses(bind)) {
            // `bind :25` + `bind :::25` (dual-stack pair): each address is opened once
            const where = `${fe.name} ${host} ${bind.port}`;
            if (opened.has(where)) continue;
            opened.add(where);
            try {
              const start = fe.settings.mode === "tcp" ? startTcpListener : startListener;
              out.push(start(core, fe.name, key, host, bind.port, backlog));
            } catch (err) {
              // Deno only says "Address already in use (os error 98)": name the bind.
              const why = err instanceof Error ? err.message : String(err);
              const addr = host.includes(":") ? `[${host}]:${bind.port}` : `${host}:${bind.port}`;
              throw new Error(`frontend ${fe.name}: cannot bind ${addr}: ${why}`, { cause: err });
            }
          }
        }
      }
    } catch (err) {
      // Undo what this call opened (not the kept ones) and report.
      for (const h of out) if (!handles.includes(h)) h.server.kill();
      throw err;
    }
    return out;
  };

  try {
    handles = openListeners(config, new Map());
  } catch (err) {
    await discovery?.stop();
    await health?.stop();
    throw err;
  }

  const runtime: Runtime = {
    get config() {
      return current;
    },
    state: store,
    get listeners() {
      return handles.map((h) => ({ frontend: h.frontend, hostname: h.hostname, port: h.port }));
    },
    get ready() {
      return ready;
    },
    get stopping() {
      return stopping;
    },
    logging,
    get adminAddr() {
      return admin?.addr ?? null;
    },
    get sessions() {
      return sessions;
    },
    get discovery() {
      return discovery;
    },
    async reload(next: Config) {
      const prev = current;
      // Listeners first: keep those whose frontend+bind is unchanged, open new ones, close the
      // rest. A bind that fails throws here, before the state store or the snapshot is touched,
      // so the running configuration and its state (MAINT, counters, removed names) stay as
      // they were. No await until the snapshot swap: no request sees the new listeners early.
      const byKey = new Map<string, ListenerHandle[]>();
      for (const h of handles) {
        const list = byKey.get(h.bindKey) ?? [];
        list.push(h);
        byKey.set(h.bindKey, list);
      }
      const moved: [ListenerHandle, string][] = [];
      const opened = openListeners(next, byKey, moved);
      const closing = [...byKey.values()].flat();
      let snapshot;
      try {
        store.sync(next);
        sessions = syncSessions(sessions, store, next);
        snapshot = compileSnapshot(next, store, core.snapshot, sessions);
      } catch (err) {
        for (const h of opened) if (!handles.includes(h)) h.server.kill();
        store.sync(prev);
        sessions = syncSessions(sessions, store, prev);
        throw err;
      }
      core.snapshot = snapshot;
      core.sessions = sessions;
      for (const [h, fe] of moved) h.frontend = fe;
      current = next;
      handles = opened;
      const keys = new Set<string>();
      for (const be of snapshot.backends.values()) {
        for (const s of be.balancer.servers) keys.add(serverAddr(s).key);
      }
      core.pool.prune(keys);
      health?.reload(next);
      if (discovery) await discovery.reload(next);
      else if (usesDns(next)) {
        discovery = await startDiscovery(next, store, sink, discoveryOpts).catch((err) => {
          logging?.event("alert", String(err instanceof Error ? err.message : err));
          return null;
        });
      }
      logging?.reload(next);
      await Promise.all(closing.map((h) => closeListener(h, 5000)));
      if (logging) logReload(logging, next);
      const adminKey = (c: Config) =>
        c.admin ? `${c.admin.bind.host}|${c.admin.bind.port}|${c.admin.token ?? ""}` : "";
      const adminChanged = adminKey(next) !== adminKey(prev);
      if (adminChanged && opts.admin !== false) {
        await admin?.stop();
        admin = next.admin ? await startAdmin(runtime, next.admin) : null;
      }
    },
    async stop(graceMs = opts.graceMs ?? 10000) {
      if (stopping) return;
      stopping = true;
      ready = false;
      const deadline = performance.now() + graceMs;
      if (logging) logStopping(logging, current, graceMs);
      // The admin listener stays up while draining, so /healthz answers 503 to the orchestrator.
      const drained = await Promise.all(handles.map((h) => closeListener(h, graceMs)));
      await admin?.stop().catch(() => {});
      // Whatever is still running after the grace period is cut: streams, tunnels.
      shutdown.abort();
      for (const x of [...core.inflight]) x.abort();
      while (core.active > 0 && performance.now() < deadline + 1000) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (drained.includes(false)) await finished(handles, 1000);
      core.pool.close();
      sessions?.stop();
      unwatch();
      await discovery?.stop();
      await health?.stop();
      if (logging) logStopped(logging, current, store);
      await logging?.stop();
    },
  };

  try {
    if (config.admin && opts.admin !== false) admin = await startAdmin(runtime, config.admin);
  } catch (err) {
    await runtime.stop(0);
    throw err;
  }
  ready = true;
  if (logging) logStart(logging, config);
  return runtime;
}

function sessionSettings(config: Config): WtSessionSettings | null {
  const w = config.global.wtSessions;
  return w ? { param: w.param, timeoutMs: w.timeout, max: w.max } : null;
}

/** The session table after a reload: kept (re-synced), started, or stopped (counts zeroed). */
function syncSessions(
  table: WtSessionTable | null,
  store: StateStore,
  next: Config,
): WtSessionTable | null {
  const settings = sessionSettings(next);
  if (!settings) {
    table?.stop();
    for (const s of store.servers.values()) s.wtSessions = 0;
    return null;
  }
  if (!table) return new WtSessionTable(store, settings, next);
  table.sync(next, settings);
  return table;
}

/** Stops accepting and waits for in-flight requests, at most `graceMs`; true when drained.
 * What is left is cut by the caller (streams, tunnels) and then by finished(). */
function closeListener(h: ListenerHandle, graceMs: number): Promise<boolean> {
  return h.server.drain(graceMs);
}

/** Gives the listeners' last connections `ms` more, then closes them. */
async function finished(hs: ListenerHandle[], ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (hs.some((h) => h.server.connections > 0) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const h of hs) h.server.kill();
}
