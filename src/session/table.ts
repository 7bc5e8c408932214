// The live Wt session table (control plane). A session is live from the first request carrying
// its id that a server answered, until neither a request nor an open WebSocket of it was seen
// for the timeout (Wt's session timeout, 600 s by default), or until its server goes DOWN or
// every server entry of it is in MAINT, or until DNS discovery moves its server elsewhere
// (src/session/ends.ts); sessions ended so are counted lost (ServerState.wtSessionsLost, a
// "sessions-lost" event). At most `max` sessions are kept: the least recently seen go first.
// Servers with the same address are one Wt process, so they share their sessions (the recipe's
// bck1/srv1 and bck_lb/srv1); a discovered server is a process of its own. Live counts are
// written to ServerState.wtSessions, which is what the data plane reads (balance `sessions`).

import type { Config } from "../config/model.ts";
import type { ServerState, StateEvent, StateStore } from "../state.ts";
import { maskId, type SessionLookup, type SessionObserver } from "./observer.ts";
import { processKey, sessionsEndedBy } from "./ends.ts";

export interface WtSessionSettings {
  /** The URL parameter carrying the session id (Wt's `wtd`). */
  param: string;
  timeoutMs: number;
  /** Most sessions kept at once. */
  max: number;
}

export const DEFAULT_WT_SESSIONS: WtSessionSettings = {
  param: "wtd",
  timeoutMs: 600_000,
  max: 100_000,
};

/** A Wt process: every configured server with this address, or one discovered server. */
interface Proc {
  key: string;
  servers: ServerState[];
  /** Session-id prefixes of these servers (`prefix:`); ids without one are not theirs. */
  prefixes: string[];
  /** Its prefix is the one DNS discovery derives from the server's name (`prefix-from`). */
  derived: boolean;
  live: number;
}

interface Entry {
  id: string;
  proc: Proc;
  firstSeen: number;
  lastSeen: number;
  requests: number;
  /** Open WebSockets. */
  ws: number;
  /** Last activity: the Map is kept in this order (oldest first). */
  touched: number;
}

/** What the admin API shows of a session: never the whole id. */
export interface SessionView {
  id: string;
  firstSeen: number;
  lastSeen: number;
  requests: number;
  websocket: boolean;
}

// Wt ids are [A-Za-z0-9] (plus a prefix); anything else, or longer, is not a session id.
const ID = /^[A-Za-z0-9_.~-]{1,128}$/;

export interface TableOptions {
  now?: () => number;
  /** Expiry sweep period; default timeout/4 within [50 ms, 1 s]. */
  tickMs?: number;
}

export class WtSessionTable implements SessionObserver, SessionLookup {
  private readonly entries = new Map<string, Entry>();
  private readonly procs = new Map<string, Proc>();
  private readonly byServer = new Map<string, Proc>();
  /** Draining servers already reported drained (reported once per drain). */
  private readonly drainedSent = new Set<string>();
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  private tickMs = 0;
  private readonly fixedTick: number | undefined;
  private readonly unsubscribe: () => void;
  /** `store.prefixVersion` the derived prefixes were read at. */
  private prefixVersion = -1;

  constructor(
    private readonly store: StateStore,
    public settings: WtSessionSettings,
    config: Config,
    opts: TableOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.fixedTick = opts.tickMs;
    this.sync(config);
    this.unsubscribe = store.on((e) => this.onState(e));
  }

  /** The expiry sweep: a quarter of the timeout, within [50 ms, 1 s]. */
  private startTimer(): void {
    const tick = this.fixedTick ??
      Math.min(1000, Math.max(50, Math.floor(this.settings.timeoutMs / 4)));
    if (tick === this.tickMs) return;
    clearInterval(this.timer);
    this.tickMs = tick;
    this.timer = setInterval(() => this.expire(), tick);
    Deno.unrefTimer(this.timer);
  }

  /** Re-reads the servers after a reload (sessions of addresses that remain are kept). */
  sync(config: Config, settings?: WtSessionSettings): void {
    if (settings) this.settings = settings;
    this.startTimer();
    this.procs.clear();
    this.byServer.clear();
    for (const b of config.backends) {
      for (const s of b.servers) {
        const st = this.store.server(b.name, s.name);
        if (!st) continue;
        const key = processKey(b.name, s);
        let p = this.procs.get(key);
        if (!p) {
          const derived = Boolean(s.dns?.prefixFrom);
          this.procs.set(key, p = { key, servers: [], prefixes: [], derived, live: 0 });
        }
        p.servers.push(st);
        if (s.prefix && !p.derived && !p.prefixes.includes(s.prefix)) p.prefixes.push(s.prefix);
        this.byServer.set(st.key, p);
      }
    }
    for (const [id, e] of this.entries) {
      const p = this.procs.get(e.proc.key);
      if (!p) this.entries.delete(id);
      else {
        e.proc = p;
        p.live++;
      }
    }
    while (this.entries.size > this.settings.max) this.drop(this.entries.values().next().value!);
    this.prefixVersion = -1;
    for (const p of this.procs.values()) this.publish(p);
  }

  /** Re-reads the prefixes DNS discovery derived (they change at run time, not at reload). */
  private derivedPrefixes(): void {
    if (this.prefixVersion === this.store.prefixVersion) return;
    this.prefixVersion = this.store.prefixVersion;
    for (const p of this.procs.values()) {
      if (!p.derived) continue;
      const prefix = p.servers[0].dns?.prefix;
      p.prefixes = prefix ? [prefix] : [];
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }

  // --- SessionObserver ---

  answered(server: string, id: string): void {
    const e = this.touch(server, id);
    if (e) e.requests++;
  }

  wsOpened(server: string, id: string): void {
    const e = this.touch(server, id);
    if (!e) return;
    e.requests++;
    e.ws++;
  }

  wsClosed(server: string, id: string): void {
    const e = this.entries.get(id);
    if (!e || e.proc !== this.byServer.get(server)) return;
    if (e.ws > 0) e.ws--;
    this.bump(e, this.now());
  }

  // --- reading ---

  /** Live sessions of the Wt process behind `server` ("backend/server"). */
  count(server: string): number {
    return this.byServer.get(server)?.live ?? 0;
  }

  isLive(server: string, id: string): boolean {
    const e = this.entries.get(id);
    return e !== undefined && e.proc === this.byServer.get(server);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Every live session as the observations that make a SessionReplica know it (oldest first,
   * one per open WebSocket): what a starting data-plane worker is sent.
   */
  snapshot(): [string, [string, string]][] {
    const out: [string, [string, string]][] = [];
    for (const e of this.entries.values()) {
      const server = e.proc.servers[0]?.key;
      if (!server) continue;
      out.push(["answered", [server, e.id]]);
      for (let i = 0; i < e.ws; i++) out.push(["wsOpened", [server, e.id]]);
    }
    return out;
  }

  /** The sessions of `server`, oldest first, ids masked. */
  list(server: string): SessionView[] {
    const p = this.byServer.get(server);
    if (!p) return [];
    const out: SessionView[] = [];
    for (const e of this.entries.values()) {
      if (e.proc !== p) continue;
      out.push({
        id: this.mask(e.id, p),
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        requests: e.requests,
        websocket: e.ws > 0,
      });
    }
    return out.sort((a, b) => a.firstSeen - b.firstSeen);
  }

  /** A server in DRAIN (or NOLB) whose process has no live session left. */
  drained(server: ServerState): boolean {
    return server.draining && this.count(server.key) === 0;
  }

  mask(id: string, p: Proc | undefined): string {
    this.derivedPrefixes();
    return maskId(id, p?.prefixes.find((x) => id.startsWith(x)) ?? null);
  }

  /** Ends the sessions idle for the timeout (an open WebSocket keeps its session). */
  expire(now = this.now()): void {
    const limit = this.settings.timeoutMs;
    for (const e of this.entries.values()) {
      if (now - e.touched < limit) break; // the rest are younger
      if (e.ws > 0) this.bump(e, now);
      else this.drop(e);
    }
  }

  // --- inside ---

  private touch(server: string, id: string): Entry | null {
    const p = this.byServer.get(server);
    if (!p || !ID.test(id)) return null;
    const now = this.now();
    const e = this.entries.get(id);
    if (e) {
      if (e.proc !== p) return null; // another process answering a foreign id: not its session
      this.bump(e, now);
      return e;
    }
    this.derivedPrefixes();
    if (p.prefixes.length > 0 && !p.prefixes.some((x) => id.startsWith(x))) return null;
    if (this.entries.size >= this.settings.max) this.drop(this.entries.values().next().value!);
    // A copy: the id may be a slice of the whole request target, which it would keep alive.
    id = [...id].join("");
    const fresh: Entry = {
      id,
      proc: p,
      firstSeen: now,
      lastSeen: now,
      requests: 0,
      ws: 0,
      touched: now,
    };
    this.entries.set(id, fresh);
    p.live++;
    this.publish(p);
    return fresh;
  }

  /** Marks activity and moves the entry to the young end. */
  private bump(e: Entry, now: number): void {
    e.lastSeen = now;
    e.touched = now;
    this.entries.delete(e.id);
    this.entries.set(e.id, e);
  }

  private drop(e: Entry): void {
    if (!this.entries.delete(e.id)) return;
    e.proc.live--;
    this.publish(e.proc);
  }

  /** Ends every session of `p`: they are lost (counted, and said on the event line). */
  private clear(p: Proc, by: ServerState, why: string): void {
    const lost = p.live;
    for (const e of this.entries.values()) if (e.proc === p) this.entries.delete(e.id);
    p.live = 0;
    if (lost > 0) {
      for (const s of p.servers) s.wtSessionsLost += lost;
      this.store.emit({
        kind: "sessions-lost",
        key: by.key,
        backend: by.backend,
        server: by.name,
        message: `Server ${by.key} lost ${lost} Wt session${lost === 1 ? "" : "s"} (${why}).`,
        level: "warning",
        time: Date.now(),
      });
    }
    this.publish(p);
  }

  /** Writes the live count where the data plane reads it; reports drained servers. */
  private publish(p: Proc): void {
    for (const s of p.servers) {
      s.wtSessions = p.live;
      if (p.live === 0) this.checkDrained(s);
    }
  }

  private checkDrained(s: ServerState): void {
    // Its own DRAIN, or its own checks' NOLB (http-check disable-on-404): a tracker is not
    // reported apart.
    const own = s.admin === "DRAIN" || (s.nolb && s.draining);
    if (!own) {
      this.drainedSent.delete(s.key);
      return;
    }
    if (s.wtSessions > 0 || this.drainedSent.has(s.key)) return;
    this.drainedSent.add(s.key);
    this.store.emit({
      kind: "drained",
      key: s.key,
      backend: s.backend,
      server: s.name,
      message: `Server ${s.key} is drained: no Wt session left`,
      level: "notice",
      time: Date.now(),
    });
  }

  private onState(e: StateEvent): void {
    if (e.server === null) return;
    const p = this.byServer.get(e.key);
    if (!p) return;
    const st = this.store.servers.get(e.key);
    if (!st) return;
    const why = sessionsEndedBy(e, p.servers);
    if (why !== null && (e.kind !== "admin" || p.live > 0)) return this.clear(p, st, why);
    if (e.kind === "admin" || e.kind === "nolb" || e.kind === "up") {
      for (const s of p.servers) this.checkDrained(s);
    }
  }
}
