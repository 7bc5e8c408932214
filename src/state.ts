// Runtime state, kept outside the configuration and keyed by name ("backend/server",
// frontend and backend names), so a reload swaps the Config and keeps health and counters.
// The health room (src/health/) drives the health fields; the proxy, ws and admin rooms
// read `usable` and move the counters.

import type { BackendConfig, Config, ServerConfig } from "./config/model.ts";
import type { DiscoveredAddress } from "./discovery/sink.ts";

export type Health = "UP" | "DOWN";
export type AdminState = "READY" | "DRAIN" | "MAINT";

/** Traffic counters shared by frontends, backends and servers (read by stats and /metrics). */
export class Counters {
  /** Requests received (frontend) or forwarded (backend, server). */
  requests = 0;
  /** Responses by status class: index 1..5 = 1xx..5xx, 0 = other. */
  responses = [0, 0, 0, 0, 0, 0];
  bytesIn = 0;
  bytesOut = 0;
  connectErrors = 0;
  responseErrors = 0;
  retries = 0;
  redispatches = 0;
  /** Current connections (frontend: client connections; server: open server connections). */
  current = 0;
  /** Highest `current` seen. */
  max = 0;
  wsOpen = 0;
  wsTotal = 0;
  wsMessagesIn = 0;
  wsMessagesOut = 0;
  wsBytesIn = 0;
  wsBytesOut = 0;
  /** Total response time histogram (Ta, ms): counts per bucket upper bound, last = +Inf. */
  readonly timeBuckets: number[] = new Array(TIME_BUCKETS_MS.length + 1).fill(0);
  timeSum = 0;
  timeCount = 0;

  observeTime(ms: number): void {
    let i = 0;
    while (i < TIME_BUCKETS_MS.length && ms > TIME_BUCKETS_MS[i]) i++;
    this.timeBuckets[i]++;
    this.timeSum += ms;
    this.timeCount++;
  }

  countStatus(status: number): void {
    const cls = Math.floor(status / 100);
    this.responses[cls >= 1 && cls <= 5 ? cls : 0]++;
  }

  open(): void {
    this.current++;
    if (this.current > this.max) this.max = this.current;
  }

  close(): void {
    this.current--;
  }
}

/** Histogram bucket upper bounds in milliseconds (Prometheus `le`, shown in seconds). */
export const TIME_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** What the health room publishes on every change: the log and stats rooms listen. */
export interface StateEvent {
  kind: "up" | "down" | "admin" | "weight" | "no-server" | "check" | "drained" | "dns";
  /** "backend/server" (or the backend name for "no-server"). */
  key: string;
  backend: string;
  server: string | null;
  /** HAProxy-worded message, e.g. "Server bck1/srv1 is DOWN, reason: Layer4 connection problem, ..." */
  message: string;
  /** syslog level HAProxy uses for it: UP notice, DOWN alert, no server emerg. */
  level: "emerg" | "alert" | "err" | "warning" | "notice" | "info";
  time: number;
}

export class ServerState {
  /** Own health: from checks, or mirrored from the tracked server. Unchecked servers stay UP. */
  health: Health = "UP";
  /**
   * HAProxy's health counter (0 .. rise+fall-1); UP when >= rise. Starts at rise: UP, but the
   * first failed check brings it DOWN (HAProxy's "up, but will fall down at first failure").
   */
  healthCounter: number;
  admin: AdminState = "READY";
  /** HAProxy's RMAINT: a DNS-discovered server with no address (MAINT "resolution"). */
  rmaint = false;
  /** The address DNS discovery found (the data plane's copy, set through an AddressSink). */
  dns: DiscoveredAddress | null = null;
  /** Effective weight (the admin API may change it). */
  weight: number;
  /** The server this one tracks (`track backend/server`), resolved at load. */
  tracks: ServerState | null = null;
  /** Servers that track this one. */
  readonly trackers: ServerState[] = [];
  lastChange = Date.now();
  lastCheck: { time: number; ok: boolean; durationMs: number; info: string } | null = null;
  /** Failed active checks counted against the server (HAProxy's `chkfail`). */
  failedChecks = 0;
  /** UP -> DOWN transitions (HAProxy's `chkdown`). */
  downTransitions = 0;
  /** Milliseconds spent DOWN before the current DOWN period (HAProxy's `downtime`). */
  downTimeMs = 0;
  readonly counters = new Counters();
  /**
   * Live Wt sessions of this server's process (src/session/table.ts writes it, the control
   * plane only; balance `sessions` and the stats read it). 0 when `wt-sessions` is off.
   */
  wtSessions = 0;

  constructor(
    readonly backend: string,
    readonly name: string,
    public config: ServerConfig,
  ) {
    this.weight = config.weight;
    this.healthCounter = config.rise;
    if (config.disabled) this.admin = "MAINT";
  }

  get key(): string {
    return `${this.backend}/${this.name}`;
  }

  /** Health as routing sees it: a tracker takes the tracked server's. */
  get effectiveHealth(): Health {
    return this.tracks ? this.tracks.effectiveHealth : this.health;
  }

  /** Admin state as routing sees it: MAINT/DRAIN of a tracked server are inherited. */
  get effectiveAdmin(): AdminState {
    const own = this.admin;
    if (own === "MAINT" || this.rmaint) return "MAINT";
    const inherited = this.tracks ? this.tracks.effectiveAdmin : "READY";
    if (inherited === "MAINT") return inherited;
    return own === "DRAIN" || inherited === "DRAIN" ? "DRAIN" : "READY";
  }

  /** Usable for new traffic: UP, READY and weight > 0 (Pingora's `healthy && enabled`). */
  get usable(): boolean {
    return this.effectiveHealth === "UP" && this.effectiveAdmin === "READY" && this.weight > 0;
  }
}

export class BackendState {
  readonly counters = new Counters();
  constructor(readonly name: string) {}
}

export class FrontendState {
  readonly counters = new Counters();
  constructor(readonly name: string) {}
}

/** Keeps the health counter inside [0, rise+fall-1] and on the side of its health after a reload. */
function clampHealthCounter(st: ServerState): void {
  const { rise, fall } = st.config;
  const max = rise + fall - 1;
  let h = Math.max(0, Math.min(st.healthCounter, max));
  if (st.health === "UP" && h < rise) h = rise;
  if (st.health === "DOWN" && h >= rise) h = 0;
  st.healthCounter = h;
}

type Listener = (e: StateEvent) => void;

/** All runtime state, keyed by name; survives reloads (sync() adds/removes entries only). */
export class StateStore {
  readonly servers = new Map<string, ServerState>();
  readonly backends = new Map<string, BackendState>();
  readonly frontends = new Map<string, FrontendState>();
  readonly startedAt = Date.now();
  /** Process-wide current client connections. */
  activeConnections = 0;
  /** Bumped when a discovered Wt prefix changes (affinity re-sorts its prefixes). */
  prefixVersion = 0;
  private listeners: Listener[] = [];

  /** Makes the store match `config`, keeping the state of names that remain. */
  sync(config: Config): void {
    const serverKeys = new Set<string>();
    for (const b of config.backends) {
      if (!this.backends.has(b.name)) this.backends.set(b.name, new BackendState(b.name));
      for (const s of b.servers) {
        const key = `${b.name}/${s.name}`;
        serverKeys.add(key);
        const existing = this.servers.get(key);
        if (existing) {
          existing.config = s;
          clampHealthCounter(existing);
          existing.tracks = null;
          existing.trackers.length = 0;
        } else this.servers.set(key, new ServerState(b.name, s.name, s));
      }
    }
    for (const key of [...this.servers.keys()]) {
      if (!serverKeys.has(key)) this.servers.delete(key);
    }
    const backendNames = new Set(config.backends.map((b) => b.name));
    for (const name of [...this.backends.keys()]) {
      if (!backendNames.has(name)) this.backends.delete(name);
    }
    const frontendNames = new Set(config.frontends.map((f) => f.name));
    for (const f of config.frontends) {
      if (!this.frontends.has(f.name)) this.frontends.set(f.name, new FrontendState(f.name));
    }
    for (const name of [...this.frontends.keys()]) {
      if (!frontendNames.has(name)) this.frontends.delete(name);
    }
    // Resolve `track` links (validated at load: they exist and have no cycles).
    for (const b of config.backends) {
      for (const s of b.servers) {
        if (!s.track) continue;
        const me = this.servers.get(`${b.name}/${s.name}`)!;
        const target = this.servers.get(`${s.track.backend}/${s.track.server}`)!;
        me.tracks = target;
        target.trackers.push(me);
      }
    }
  }

  server(backend: string, server: string): ServerState | undefined {
    return this.servers.get(`${backend}/${server}`);
  }

  /** HAProxy's nbsrv(): usable non-backup servers, else 1 if a backup is usable, else 0. */
  nbsrv(backend: BackendConfig): number {
    let active = 0;
    let backup = false;
    for (const s of backend.servers) {
      const st = this.servers.get(`${backend.name}/${s.name}`);
      if (!st?.usable) continue;
      if (s.backup) backup = true;
      else active++;
    }
    return active > 0 ? active : backup ? 1 : 0;
  }

  on(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: StateEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        console.error(`state listener failed: ${err}`);
      }
    }
  }
}
