// The running proxy built from a Config: state store, health checks, logging, compiled routing
// and balancing (a snapshot swapped on reload), listeners, the admin listener, and a drain with
// a deadline on stop.

import type { Config } from "./config/model.ts";
import type { AccessLogger, RequestLog } from "./log/record.ts";
import { createLogging, type Logging, type LoggingOptions } from "./log/logging.ts";
import { logReload, logStart, logStopped, logStopping } from "./log/events.ts";
import { startAdmin } from "./admin/server.ts";
import { type Health, startHealth } from "./health/scheduler.ts";
import { reportTakenDown, setAdminState } from "./health/machine.ts";
import { type AdminState, StateStore } from "./state.ts";
import type { Connector } from "./upstream/conn.ts";
import type { PoolOptions } from "./upstream/pool.ts";
import { type DataPlane, type ListenerInfo, startDataPlane } from "./data/plane.ts";
import { startWorkers, type WorkerPool } from "./control/workers.ts";
import { EventHub, PushHandlers, serve } from "./shared/channel.ts";
import { registerPushes } from "./data/pushes.ts";
import { capacityFor, SharedTable } from "./shared/table.ts";
import { type WtSessionSettings, WtSessionTable } from "./session/table.ts";
import { type Discovery, type DiscoveryOptions, startDiscovery } from "./discovery/discovery.ts";
import { type AddressSink, localAddressSink } from "./discovery/sink.ts";
import type { SessionObserver } from "./session/observer.ts";

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
  /**
   * Data-plane threads; default: `global.nbthread`, else 1 (the command line defaults to every
   * CPU). 1 = everything in this thread; N > 1 = N workers (reusePort listeners) and this
   * thread as the control plane. `connector` is not used by workers.
   */
  nbthread?: number;
  /** DNS discovery options (tests: an injected resolver). */
  discovery?: Pick<DiscoveryOptions, "resolverFor" | "resolvConf">;
}

export interface Runtime {
  readonly config: Config;
  readonly state: StateStore;
  readonly listeners: { frontend: string; hostname: string; port: number }[];
  /** Data-plane threads (1: the data plane runs in this thread). */
  readonly nbthread: number;
  /** The data-plane workers (null at nbthread 1). */
  readonly workers: WorkerPool | null;
  /** Control-plane handlers of data-plane events (e.g. serve(events, "wt", table)). */
  readonly events: EventHub;
  /** Sends `data` to the data plane (every worker, or this thread's handlers at nbthread 1). */
  push(kind: string, data: unknown): void;
  readonly ready: boolean;
  readonly stopping: boolean;
  readonly logging?: Logging;
  /** The live Wt session table (control plane) when `wt-sessions` is set, else null. */
  readonly sessions: WtSessionTable | null;
  /** Where the admin listener is bound (null when off); its port is known even for port 0. */
  readonly adminAddr: Deno.NetAddr | null;
  /** Swaps the configuration; state (health, counters) is kept, changed binds are rebound. */
  reload(config: Config): Promise<void>;
  /** Stops accepting, drains in-flight requests until `graceMs`, then cuts what is left. */
  stop(graceMs?: number): Promise<void>;
  /** DNS discovery (null when no server uses `resolvers`). */
  readonly discovery: Discovery | null;
}

const NOOP_LOGGER: AccessLogger = { request() {} };

/** Rows the configuration needs in the shared table (frontends, backends, servers). */
function entities(config: Config): number {
  let n = config.frontends.length + config.backends.length;
  for (const b of config.backends) n += b.servers.length;
  return n;
}

export async function startRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const nbthread = opts.nbthread ?? config.global.nbthread ?? 1;
  const store = new StateStore(
    nbthread > 1
      ? SharedTable.create(capacityFor(entities(config)), nbthread + 1, true)
      : SharedTable.create(capacityFor(entities(config)), 1, false),
  );
  store.sync(config);
  const logging = opts.logging === false ? undefined : createLogging(config, store, opts.logging);
  const logger = opts.logger ?? logging?.access ?? NOOP_LOGGER;
  const events = new EventHub();
  events.handle("log", (data) => {
    const [fe, rec] = data as [string, RequestLog];
    logger.request(fe, rec);
  });
  // A worker's stats page admin form: the same state change as the admin API's.
  events.handle("admin-state", (data) => {
    const [key, state] = data as [string, AdminState];
    setAdminState(store, key, state);
  });
  events.handle("passive-down", (data) => {
    const [key, reason] = data as [string, string];
    reportTakenDown(store, key, reason);
  });
  const pushes = new PushHandlers();
  let sessions = config.global.wtSessions
    ? new WtSessionTable(store, sessionSettings(config)!, config)
    : null;
  // Workers observe sessions through "wt" events, delivered to whichever table is current.
  const observed: SessionObserver = {
    answered: (server, id) => sessions?.answered(server, id),
    wsOpened: (server, id) => sessions?.wsOpened(server, id),
    wsClosed: (server, id) => sessions?.wsClosed(server, id),
  };
  serve(events, "wt", observed);
  let health: Health | null = null;
  if (opts.health !== false) {
    health = startHealth(config, store);
  }

  let plane: DataPlane | null = null;
  let workers: WorkerPool | null = null;
  // DNS discovery (control plane) sets the addresses in this thread's store (health checks
  // read them; at nbthread 1 with the data plane's pool) and pushes them to the workers.
  const sink: AddressSink = {
    setAddress(key, addr) {
      localAddressSink(store, plane?.core.pool ?? null).setAddress(key, addr);
      workers?.push("server-address", [key, addr]);
    },
  };
  const discoveryOpts: DiscoveryOptions = {
    ...opts.discovery,
    onAddress: (key) => health?.kick(key),
  };
  const usesDns = (c: Config) => c.backends.some((b) => b.servers.some((s) => s.dns));
  let discovery: Discovery | null = null;
  try {
    if (usesDns(config)) discovery = await startDiscovery(config, store, sink, discoveryOpts);
    if (nbthread > 1) {
      workers = await startWorkers(nbthread, config, store.table, events, {
        pool: opts.pool,
        relay: ["wt"],
        // A starting worker's SessionReplica learns the sessions live now.
        snapshot: () => sessions ? [["wt-peer", sessions.snapshot()]] : [],
        addresses: () => {
          const out: [string, unknown][] = [];
          for (const [key, st] of store.servers) if (st.dns) out.push([key, st.dns]);
          return out;
        },
        onWorkerDied: (index, why) => {
          const line = `data-plane worker ${index} died (${why}); starting a new one`;
          console.error(`wtproxy: ${line}`);
          logging?.event("alert", line);
        },
      });
    } else {
      plane = startDataPlane(config, store, {
        logger,
        connector: opts.connector,
        pool: opts.pool,
        sessions: (cfg) => sessions = syncSessions(sessions, store, cfg),
      });
      registerPushes(pushes, plane);
    }
    // State events (server DOWN...) reach the workers' stores too (tcp on-marked-down).
    if (workers) store.on((e) => workers!.push("state", e));
    // Addresses DNS found while the workers were starting (after their start message was
    // written) went nowhere: send every discovered server's address once more.
    if (workers) {
      for (const [key, st] of store.servers) {
        if (st.config.dns) workers.push("server-address", [key, st.dns]);
      }
    }
  } catch (err) {
    await discovery?.stop();
    await health?.stop();
    await logging?.stop();
    throw err;
  }

  let current = config;
  let ready = false;
  let stopping = false;
  let admin: { addr: Deno.NetAddr; stop(): Promise<void> } | null = null;
  const listeners = (): ListenerInfo[] => plane?.listeners ?? workers!.listeners;

  const runtime: Runtime = {
    get config() {
      return current;
    },
    state: store,
    get listeners() {
      return listeners().map((l) => ({ frontend: l.frontend, hostname: l.hostname, port: l.port }));
    },
    nbthread,
    workers,
    events,
    push(kind, data) {
      if (workers) workers.push(kind, data);
      else pushes.deliver(kind, data);
    },
    get ready() {
      return ready;
    },
    get stopping() {
      return stopping;
    },
    logging,
    get sessions() {
      return sessions;
    },
    get discovery() {
      return discovery;
    },
    get adminAddr() {
      return admin?.addr ?? null;
    },
    async reload(next: Config) {
      const prev = current;
      let closing: Promise<void>;
      if (plane) {
        // Throws (a bind that fails, a bad snapshot) before anything changed.
        const prepared = plane.prepare(next);
        closing = prepared.commit();
      } else {
        // New names get their shared rows first; the store follows only once every worker
        // has prepared (a bind that fails leaves the running configuration and its state).
        store.reserveSlots(next);
        await workers!.reload(next, store.table, () => {
          store.sync(next);
          sessions = syncSessions(sessions, store, next);
        });
        closing = Promise.resolve();
      }
      current = next;
      health?.reload(next);
      if (discovery) await discovery.reload(next);
      else if (usesDns(next)) {
        discovery = await startDiscovery(next, store, sink, discoveryOpts).catch((err) => {
          logging?.event("alert", String(err instanceof Error ? err.message : err));
          return null;
        });
      }
      logging?.reload(next);
      await closing;
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
      if (logging) logStopping(logging, current, graceMs);
      // The admin listener stays up while draining, so /healthz answers 503 to the orchestrator.
      const stopAdmin = async () => {
        await admin?.stop().catch(() => {});
      };
      if (plane) await plane.stop(graceMs, stopAdmin);
      else {
        await workers!.stop(graceMs);
        await stopAdmin();
      }
      sessions?.stop();
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

/** The session table settings of `config`, null when `wt-sessions` is off. */
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
