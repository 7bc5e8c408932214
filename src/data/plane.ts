// The data plane of one thread: the listeners of every bind, the compiled snapshot (routing,
// balancing, gates), the server connection pool, and the drain on stop. At nbthread 1 the
// runtime runs one in the main thread; with workers each worker runs one (src/data/worker.ts).
//
// A reload is two steps so that several workers switch together: prepare() opens the new
// listeners and compiles the configuration without changing what is served (a bind that
// fails throws here, nothing changed), then commit() swaps the snapshot and closes the
// listeners that went away, or abort() undoes prepare().

import type { Config } from "../config/model.ts";
import type { AccessLogger } from "../log/record.ts";
import type { SessionLookup, SessionObserver } from "../session/observer.ts";
import { certSelector } from "../tls/select.ts";
import { startTcpListener } from "../tcp/listener.ts";
import type { AdminState, StateStore } from "../state.ts";
import { compileSnapshot } from "../proxy/compile.ts";
import { ServerSessions } from "../proxy/sessions.ts";
import {
  bindAddresses,
  type ListenerHandle,
  type RuntimeCore,
  startListener,
} from "../proxy/frontend.ts";
import { type Connector, defaultConnector } from "../upstream/conn.ts";
import { Pool, type PoolOptions } from "../upstream/pool.ts";
import { serverAddr } from "../proxy/attempt.ts";

export interface DataPlaneOptions {
  logger: AccessLogger;
  /** Replaces Deno.connect for server connections (tests: black-holed servers). */
  connector?: Connector;
  pool?: PoolOptions;
  /** Several workers listen on each bind (SO_REUSEPORT). */
  reusePort?: boolean;
  /**
   * Switches the Wt session side to `config` (called after the state store follows it) and
   * gives where observations go and what the balancer asks (null: `wt-sessions` off).
   */
  sessions?: (config: Config) => (SessionObserver & SessionLookup) | null;
  /** Where the stats page's admin forms set a server's state (absent: this thread's store). */
  setAdminState?: (key: string, state: AdminState) => void;
}

/** One listening socket, as the control plane and the admin page see it. */
export interface ListenerInfo {
  frontend: string;
  hostname: string;
  port: number;
  /** "bind key|host": the same socket in every worker (port-0 binds get one port for all). */
  id: string;
}

export interface Prepared {
  /** The listeners the configuration will have (kept and new). */
  readonly listeners: ListenerInfo[];
  /** Serves the prepared configuration; closes the listeners that went away (drained). */
  commit(): Promise<void>;
  /** Closes what prepare() opened and puts the state store back. */
  abort(): void;
}

export interface DataPlane {
  readonly core: RuntimeCore;
  readonly listeners: ListenerInfo[];
  /** `ports`: ports already chosen for port-0 binds (by id), so every worker shares them. */
  prepare(next: Config, ports?: ReadonlyMap<string, number>): Prepared;
  /**
   * Stops accepting, lets requests in flight finish until `graceMs`, then cuts what is left
   * (streams, tunnels). `drained` runs between the two (the admin listener stays up until).
   */
  stop(graceMs: number, drained?: () => Promise<void>): Promise<void>;
}

/**
 * What a listener is kept by across a reload: its address, whichever frontend it serves (a
 * renamed frontend, or a bind moved to another one, keeps the socket instead of failing to bind
 * a port still held by the old listener). Port 0 (ephemeral) binds stay per frontend.
 */
function listenerKey(
  frontend: string,
  mode: string,
  bind: { host: string; port: number; ssl?: { fingerprint: string } },
): string {
  const key = bind.port === 0 ? `${frontend}|${bind.host}|0` : `${mode}|${bind.host}|${bind.port}`;
  // Deno keeps the certificate it chose per server name for a TLS listener's life: other
  // certificates (a renewal at reload) need a new listener (reusePort: opened beside the old).
  return bind.ssl ? `${key}|tls:${bind.ssl.fingerprint}` : key;
}

/**
 * A port-0 TLS bind whose certificates changed (a new listener, see listenerKey) keeps the port
 * of the listener it replaces: the one of the same frontend and address among those closing.
 */
function tlsPortOf(closing: Map<string, ListenerHandle[]>, key: string, host: string): number {
  const base = key.slice(0, key.indexOf("|tls:") + 5);
  for (const [k, hs] of closing) {
    if (!k.startsWith(base)) continue;
    for (const h of hs) if (h.hostname === host) return h.port;
  }
  return 0;
}

function info(h: ListenerHandle): ListenerInfo {
  return { frontend: h.frontend, hostname: h.hostname, port: h.port, id: h.id };
}

export function startDataPlane(
  config: Config,
  store: StateStore,
  opts: DataPlaneOptions,
  ports?: ReadonlyMap<string, number>,
): DataPlane {
  const shutdown = new AbortController();
  const sessions = opts.sessions?.(config) ?? null;
  const core: RuntimeCore = {
    sessions,
    snapshot: compileSnapshot(config, store, undefined, sessions),
    store,
    pool: new Pool(opts.pool),
    connector: opts.connector ?? defaultConnector,
    logger: opts.logger,
    inflight: new Set(),
    shutdown: shutdown.signal,
    setAdminState: opts.setAdminState,
    active: 0,
    serverSessions: new ServerSessions(),
  };
  // on-marked-down shutdown-sessions: the store's DOWN events (in a worker, relayed).
  const unwatch = core.serverSessions.watch(store);
  let handles: ListenerHandle[] = [];
  let current = config;

  /** Opens `cfg`'s listeners, taking kept ones out of `keep`; `moved` gets the kept listeners
   * whose frontend changes (applied once the new snapshot is in place). */
  const openListeners = (
    cfg: Config,
    keep: Map<string, ListenerHandle[]>,
    moved: [ListenerHandle, string][],
    pinned: ReadonlyMap<string, number> | undefined,
  ) => {
    const out: ListenerHandle[] = [];
    const seen = new Set<string>();
    try {
      for (const fe of cfg.frontends) {
        const backlog = fe.settings.maxconn > 0 ? fe.settings.maxconn : cfg.global.maxconn;
        for (const bind of fe.binds) {
          const key = listenerKey(fe.name, fe.settings.mode, bind);
          const kept = keep.get(key);
          if (kept) {
            for (const h of kept) if (h.frontend !== fe.name) moved.push([h, fe.name]);
            for (const h of kept) seen.add(`${fe.name} ${h.hostname} ${h.port}`);
            out.push(...kept);
            keep.delete(key);
            continue;
          }
          for (const host of bindAddresses(bind)) {
            // `bind :25` + `bind :::25` (dual-stack pair): each address is opened once
            const where = `${fe.name} ${host} ${bind.port}`;
            if (seen.has(where)) continue;
            seen.add(where);
            const id = `${key}|${host}`;
            let port = bind.port === 0 ? pinned?.get(id) ?? 0 : bind.port;
            if (port === 0 && bind.ssl) port = tlsPortOf(keep, key, host);
            try {
              if (fe.settings.mode === "tcp") {
                out.push(
                  startTcpListener(core, fe.name, key, id, host, port, backlog, opts.reusePort),
                );
              } else {
                const tls = bind.ssl
                  ? { alpn: bind.ssl.alpn, select: certSelector(bind.ssl.certs) }
                  : undefined;
                const reuse = opts.reusePort || tls !== undefined;
                out.push(startListener(core, fe.name, key, id, host, port, backlog, reuse, tls));
              }
            } catch (err) {
              // Deno only says "Address already in use (os error 98)": name the bind.
              const why = err instanceof Error ? err.message : String(err);
              const addr = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
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

  handles = openListeners(config, new Map(), [], ports);

  return {
    core,
    get listeners() {
      return handles.map(info);
    },
    prepare(next, pinned) {
      const prev = current;
      // Listeners first: keep those whose frontend+bind is unchanged, open new ones. A bind
      // that fails throws here, before the state store or the snapshot is touched.
      const byKey = new Map<string, ListenerHandle[]>();
      for (const h of handles) {
        const list = byKey.get(h.bindKey) ?? [];
        list.push(h);
        byKey.set(h.bindKey, list);
      }
      const moved: [ListenerHandle, string][] = [];
      const opened = openListeners(next, byKey, moved, pinned);
      const closing = [...byKey.values()].flat();
      const undo = () => {
        for (const h of opened) if (!handles.includes(h)) h.server.kill();
      };
      let snapshot;
      let sessions: ReturnType<NonNullable<DataPlaneOptions["sessions"]>> = null;
      const back = () => {
        store.sync(prev);
        opts.sessions?.(prev);
      };
      try {
        store.sync(next);
        sessions = opts.sessions?.(next) ?? null;
        snapshot = compileSnapshot(next, store, core.snapshot, sessions);
      } catch (err) {
        undo();
        back();
        throw err;
      }
      const renamed = new Map(moved);
      return {
        // As they will be once committed (a kept listener may serve a renamed frontend).
        listeners: opened.map((h) => ({ ...info(h), frontend: renamed.get(h) ?? h.frontend })),
        abort() {
          undo();
          back();
        },
        async commit() {
          // No await until the swap: no request sees the new listeners early.
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
          await Promise.all(closing.map((h) => h.server.drain(5000)));
        },
      };
    },
    async stop(graceMs, drained) {
      const deadline = performance.now() + graceMs;
      const done = await Promise.all(handles.map((h) => h.server.drain(graceMs)));
      await drained?.().catch(() => {});
      // Whatever is still running after the grace period is cut: streams, tunnels.
      shutdown.abort();
      for (const x of [...core.inflight]) x.abort();
      while (core.active > 0 && performance.now() < deadline + 1000) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (done.includes(false)) await finished(handles, 1000);
      core.pool.close();
      unwatch();
    },
  };
}

/** Gives the listeners' last connections `ms` more, then closes them. */
async function finished(hs: ListenerHandle[], ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (hs.some((h) => h.server.connections > 0) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const h of hs) h.server.kill();
}
