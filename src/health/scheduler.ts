// Runs the active checks: one task per server with `check`, each with its own timer, never two
// checks of one server at once. The next check comes `inter` after the previous one ended
// (`fastinter` while the health counter is between the extremes, `downinter` while fully DOWN,
// HAProxy's srv_getinter); the first checks are spread evenly over the first interval.

import type { BackendConfig, Config, ServerConfig } from "../config/model.ts";
import type { ServerState, StateStore } from "../state.ts";
import { type Checker, checkTimeouts, describeCheck, errorInfo } from "./checker.ts";
import { HttpChecker } from "./http.ts";
import { applyCheckResult } from "./machine.ts";
import { TcpChecker } from "./tcp.ts";
import { withAddress } from "../discovery/sink.ts";
import { tcpCheckChecker } from "./tcpcheck.ts";
import { sslHelloChecker } from "./ssl_hello.ts";
import { mysqlChecker } from "./mysql.ts";
import { pgsqlChecker } from "./pgsql.ts";
import { redisChecker } from "./redis.ts";

export interface Health {
  /** Cancels every timer and in-flight check; resolves when none is left running. */
  stop(): Promise<void>;
  /** Follows a new configuration (call after `store.sync(config)`): starts, updates and stops
   * tasks by "backend/server" key; running servers keep their health. */
  reload(config: Config): void;
  /** Checks `key` now instead of at its next turn (its DNS address just appeared). */
  kick(key: string): void;
}

export interface HealthOptions {
  /** Checker for a server (tests inject fakes); default: HTTP with `option httpchk`, else TCP. */
  checkerFor?: (backend: BackendConfig, server: ServerConfig) => Checker;
}

/** The checker HAProxy would use for servers of this backend. */
export function checkerFor(backend: BackendConfig): Checker {
  const spec = backend.settings.options.tcpCheck;
  if (spec) {
    switch (spec.kind) {
      case "tcp-check":
        return tcpCheckChecker(spec.rules);
      case "ssl-hello":
        return sslHelloChecker();
      case "mysql":
        return mysqlChecker(spec.user, spec.post41);
      case "pgsql":
        return pgsqlChecker(spec.user);
      case "redis":
        return redisChecker();
    }
  }
  const hc = backend.settings.options.httpchk;
  return hc ? new HttpChecker(hc) : new TcpChecker();
}

/** HAProxy's srv_getinter: the delay before a server's next check. */
export function nextInterval(st: ServerState): number {
  const c = st.config;
  const max = c.rise + c.fall - 1;
  if (st.healthCounter >= max) return c.inter;
  if (st.health === "DOWN" && st.healthCounter === 0) return c.downinter || c.inter;
  return c.fastinter || c.inter;
}

interface Task {
  key: string;
  backend: BackendConfig;
  server: ServerConfig;
  checker: Checker;
  timer?: ReturnType<typeof setTimeout>;
  running: Promise<void> | null;
  abort: AbortController | null;
  stopped: boolean;
}

export function startHealth(config: Config, store: StateStore, opts: HealthOptions = {}): Health {
  const make = opts.checkerFor ?? ((b: BackendConfig) => checkerFor(b));
  const tasks = new Map<string, Task>();
  let stopped = false;

  const schedule = (task: Task, delay: number) => {
    if (task.stopped) return;
    task.timer = setTimeout(() => run(task), Math.max(0, delay));
  };

  const run = (task: Task) => {
    task.timer = undefined;
    if (task.stopped) return;
    const st = store.servers.get(task.key);
    if (!st) return schedule(task, task.server.inter);
    // Checks pause in maintenance, and while DNS gave no address.
    if (st.admin === "MAINT" || st.rmaint) return schedule(task, task.server.inter);
    const target = st.dns ? withAddress(task.server, st.dns) : task.server;
    const ac = new AbortController();
    task.abort = ac;
    const { timeoutMs, connectTimeoutMs } = checkTimeouts(task.backend, task.server);
    const started = performance.now();
    task.running = (async () => {
      let res;
      try {
        res = await task.checker.check(target, timeoutMs, {
          connectTimeoutMs,
          signal: ac.signal,
        });
      } catch (err) {
        if (ac.signal.aborted) return;
        res = {
          ok: false,
          durationMs: Math.round(performance.now() - started),
          reason: describeCheck("SOCKERR", undefined, errorInfo(err)),
          status: "SOCKERR" as const,
        };
      }
      if (task.stopped) return;
      // The store entry may have been replaced by a reload; use the current one.
      const cur = store.servers.get(task.key);
      if (cur && cur.config.check) applyCheckResult(store, cur, res);
    })().finally(() => {
      task.running = null;
      task.abort = null;
      const cur = store.servers.get(task.key);
      schedule(task, cur ? nextInterval(cur) : task.server.inter);
    });
  };

  const cancel = (task: Task) => {
    task.stopped = true;
    if (task.timer !== undefined) clearTimeout(task.timer);
    task.timer = undefined;
    task.abort?.abort(new DOMException("health checks stopped", "AbortError"));
  };

  const checkedServers = (cfg: Config) => {
    const out: { backend: BackendConfig; server: ServerConfig; key: string }[] = [];
    for (const b of cfg.backends) {
      for (const s of b.servers) {
        if (s.check && !s.track) out.push({ backend: b, server: s, key: `${b.name}/${s.name}` });
      }
    }
    return out;
  };

  /** Starts tasks for `list`, spread evenly over the smallest first interval. */
  const startAll = (list: ReturnType<typeof checkedServers>) => {
    if (list.length === 0) return;
    const firstInter = (e: (typeof list)[number]) => {
      const st = store.servers.get(e.key);
      return st ? nextInterval(st) : e.server.fastinter || e.server.inter;
    };
    const mininter = Math.min(...list.map(firstInter));
    list.forEach((e, i) => {
      const task: Task = {
        key: e.key,
        backend: e.backend,
        server: e.server,
        checker: make(e.backend, e.server),
        running: null,
        abort: null,
        stopped: false,
      };
      tasks.set(e.key, task);
      schedule(task, Math.floor((mininter * i) / list.length));
    });
  };

  /** A server that is no longer checked is UP again (unchecked servers always are). */
  const uncheck = (key: string) => {
    const st = store.servers.get(key);
    if (!st || st.config.check || st.tracks) return;
    st.healthCounter = st.config.rise;
    if (st.health === "DOWN") {
      st.health = "UP";
      st.lastChange = Date.now();
      for (const t of st.trackers) mirror(t);
    }
  };
  const mirror = (t: ServerState) => {
    const h = t.tracks ? t.tracks.effectiveHealth : t.health;
    if (t.health !== h) {
      t.health = h;
      t.lastChange = Date.now();
    }
    for (const u of t.trackers) mirror(u);
  };

  startAll(checkedServers(config));

  return {
    reload(cfg: Config) {
      if (stopped) return;
      const list = checkedServers(cfg);
      const keep = new Set(list.map((e) => e.key));
      for (const [key, task] of tasks) {
        if (!keep.has(key)) {
          cancel(task);
          tasks.delete(key);
          uncheck(key);
        }
      }
      const fresh: typeof list = [];
      for (const e of list) {
        const task = tasks.get(e.key);
        if (!task) fresh.push(e);
        else {
          task.backend = e.backend;
          task.server = e.server;
          task.checker = make(e.backend, e.server);
        }
      }
      // Trackers whose link changed take their new tracked server's health (no event).
      for (const st of store.servers.values()) if (st.tracks) mirror(st);
      startAll(fresh);
    },
    kick(key: string) {
      const task = tasks.get(key);
      if (!task || task.running || task.stopped) return;
      if (task.timer !== undefined) clearTimeout(task.timer);
      run(task);
    },
    async stop() {
      stopped = true;
      const running: Promise<void>[] = [];
      for (const task of tasks.values()) {
        cancel(task);
        if (task.running) running.push(task.running);
      }
      tasks.clear();
      await Promise.allSettled(running);
    },
  };
}
