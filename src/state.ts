// Runtime state, kept outside the configuration and keyed by name ("backend/server",
// frontend and backend names), so a reload swaps the Config and keeps health and counters.
// The health room (src/health/) drives the health fields; the proxy, ws and admin rooms
// read `usable` and move the counters.

import type { BackendConfig, Config, ServerConfig } from "./config/model.ts";
import type { DiscoveredAddress } from "./discovery/sink.ts";
import { C, capacityFor, G, GAUGE_STRIDE, GLOBAL_SLOT, SharedTable } from "./shared/table.ts";

export type Health = "UP" | "DOWN";
export type AdminState = "READY" | "DRAIN" | "MAINT";

/**
 * Traffic counters shared by frontends, backends and servers (read by stats and /metrics).
 * Backed by a row of the SharedTable (src/shared/table.ts): `current`, `max` are one copy for
 * every thread (Atomics); the rest is this thread's block, or in the control plane of several
 * workers the sum of every block. `new Counters()` stands alone (its own one-row table).
 */
export class Counters {
  private g!: Int32Array;
  private gi = 0;
  private f!: Float64Array;
  private fi = 0;
  private table!: SharedTable;
  private slot = 0;
  private sum = false;
  constructor(table?: SharedTable, slot?: number) {
    if (table && slot !== undefined) this.bind(table, slot);
    else this.bind(SharedTable.create(2, 1, false), 1);
  }

  /** Points the counters at `slot` of `table` (a reload that grew the table rebinds). */
  bind(table: SharedTable, slot: number): void {
    this.table = table;
    this.slot = slot;
    this.g = table.gauges;
    this.gi = table.gaugeBase(slot);
    this.f = table.counters;
    this.fi = table.counterBase(slot);
    this.sum = table.summing;
  }

  /** Responses by status class: index 1..5 = 1xx..5xx, 0 = other (a copy). */
  get responses(): number[] {
    return this.span(C.responses, 6);
  }

  /** Total response time histogram (Ta, ms): counts per bucket upper bound, last = +Inf. */
  get timeBuckets(): number[] {
    return this.span(C.timeBuckets, TIME_BUCKETS_MS.length + 1);
  }

  private span(field: number, n: number): number[] {
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.read(field + i);
    return out;
  }

  /** The sum of a counter field over every thread's block. */
  private total(field: number): number {
    let n = 0;
    for (let b = 0; b < this.table.blocks; b++) {
      n += this.f[this.table.counterBase(this.slot, b) + field];
    }
    return n;
  }

  private read(field: number): number {
    return this.sum ? this.total(field) : this.f[this.fi + field];
  }

  /** The value of `field` in each worker's block (index 0 = worker 1); [] without workers. */
  perWorker(field: keyof typeof C): number[] {
    const out: number[] = [];
    for (let b = 1; b < this.table.blocks; b++) {
      out.push(this.f[this.table.counterBase(this.slot, b) + C[field]]);
    }
    return out;
  }

  /** Requests received (frontend) or forwarded (backend, server). */
  get requests(): number {
    return this.read(C.requests);
  }
  set requests(v: number) {
    this.write(C.requests, v);
  }
  get bytesIn(): number {
    return this.read(C.bytesIn);
  }
  set bytesIn(v: number) {
    this.write(C.bytesIn, v);
  }
  get bytesOut(): number {
    return this.read(C.bytesOut);
  }
  set bytesOut(v: number) {
    this.write(C.bytesOut, v);
  }
  get connectErrors(): number {
    return this.read(C.connectErrors);
  }
  set connectErrors(v: number) {
    this.write(C.connectErrors, v);
  }
  get responseErrors(): number {
    return this.read(C.responseErrors);
  }
  set responseErrors(v: number) {
    this.write(C.responseErrors, v);
  }
  get retries(): number {
    return this.read(C.retries);
  }
  set retries(v: number) {
    this.write(C.retries, v);
  }
  get redispatches(): number {
    return this.read(C.redispatches);
  }
  set redispatches(v: number) {
    this.write(C.redispatches, v);
  }
  get wsOpen(): number {
    return this.read(C.wsOpen);
  }
  set wsOpen(v: number) {
    this.write(C.wsOpen, v);
  }
  get wsTotal(): number {
    return this.read(C.wsTotal);
  }
  set wsTotal(v: number) {
    this.write(C.wsTotal, v);
  }
  get wsMessagesIn(): number {
    return this.read(C.wsMessagesIn);
  }
  set wsMessagesIn(v: number) {
    this.write(C.wsMessagesIn, v);
  }
  get wsMessagesOut(): number {
    return this.read(C.wsMessagesOut);
  }
  set wsMessagesOut(v: number) {
    this.write(C.wsMessagesOut, v);
  }
  get wsBytesIn(): number {
    return this.read(C.wsBytesIn);
  }
  set wsBytesIn(v: number) {
    this.write(C.wsBytesIn, v);
  }
  get wsBytesOut(): number {
    return this.read(C.wsBytesOut);
  }
  set wsBytesOut(v: number) {
    this.write(C.wsBytesOut, v);
  }
  get timeSum(): number {
    return this.read(C.timeSum);
  }
  set timeSum(v: number) {
    this.write(C.timeSum, v);
  }
  get timeCount(): number {
    return this.read(C.timeCount);
  }
  set timeCount(v: number) {
    this.write(C.timeCount, v);
  }

  /**
   * A write of a value read through the getter: in a summing view the getter returned the
   * total, so the own block takes the difference (`c.x++` adds one to the total).
   */
  private write(field: number, v: number): void {
    const i = this.fi + field;
    this.f[i] = this.sum ? this.f[i] + v - this.total(field) : v;
  }

  /** Current connections (frontend: client connections; server: open server connections),
   * one number for every thread. */
  get current(): number {
    return Atomics.load(this.g, this.gi + G.current);
  }
  set current(v: number) {
    Atomics.store(this.g, this.gi + G.current, v);
  }

  /** Highest `current` seen. */
  get max(): number {
    return Atomics.load(this.g, this.gi + G.max);
  }
  set max(v: number) {
    Atomics.store(this.g, this.gi + G.max, v);
  }

  observeTime(ms: number): void {
    let i = 0;
    while (i < TIME_BUCKETS_MS.length && ms > TIME_BUCKETS_MS[i]) i++;
    const f = this.f;
    const o = this.fi;
    f[o + C.timeBuckets + i]++;
    f[o + C.timeSum] += ms;
    f[o + C.timeCount]++;
  }

  countStatus(status: number): void {
    const cls = Math.floor(status / 100);
    this.f[this.fi + C.responses + (cls >= 1 && cls <= 5 ? cls : 0)]++;
  }

  open(): void {
    const g = this.g;
    const cur = this.table.add(this.gi + G.current, 1) + 1;
    // Raise the maximum unless another thread raised it further meanwhile.
    let max = Atomics.load(g, this.gi + G.max);
    while (cur > max) {
      const seen = Atomics.compareExchange(g, this.gi + G.max, max, cur);
      if (seen === max) break;
      max = seen;
    }
  }

  close(): void {
    this.table.add(this.gi + G.current, -1);
  }
}

/** Histogram bucket upper bounds in milliseconds (Prometheus `le`, shown in seconds). */
export const TIME_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** What the health room publishes on every change: the log and stats rooms listen. */
export interface StateEvent {
  kind:
    | "up"
    | "down"
    | "nolb"
    | "admin"
    | "weight"
    | "no-server"
    | "check"
    | "drained"
    | "dns"
    | "sessions-lost";
  /** "backend/server" (or the backend name for "no-server"). */
  key: string;
  backend: string;
  server: string | null;
  /** HAProxy-worded message, e.g. "Server bck1/srv1 is DOWN, reason: Layer4 connection problem, ..." */
  message: string;
  /** syslog level HAProxy uses for it: UP notice, DOWN alert, no server emerg. */
  level: "emerg" | "alert" | "err" | "warning" | "notice" | "info";
  time: number;
  /** kind "dns": the server moved (a new process there); `from` is null for a first address. */
  moved?: { what: "IP" | "FQDN" | "port"; from: string | null; to: string };
}

const HEALTHS: readonly Health[] = ["UP", "DOWN"];
const ADMINS: readonly AdminState[] = ["READY", "DRAIN", "MAINT"];

/** Where an entity's shared row is: the table and its slot (see src/shared/table.ts). */
export interface Home {
  table: SharedTable;
  slot: number;
  /** This thread sets the initial shared values (the control plane; false in a worker). */
  owner: boolean;
}

/** A one-row table of its own, for state made outside a store (tests, empty views). */
function ownHome(): Home {
  return { table: SharedTable.create(2, 1, false), slot: 1, owner: true };
}

export class ServerState {
  private g!: Int32Array;
  private gi = 0;
  /**
   * HAProxy's health counter (0 .. rise+fall-1); UP when >= rise. Starts at rise: UP, but the
   * first failed check brings it DOWN (HAProxy's "up, but will fall down at first failure").
   */
  healthCounter: number;
  /** The address DNS discovery found (the data plane's copy, set through an AddressSink). */
  dns: DiscoveredAddress | null = null;
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
  /** Wt sessions this server's process lost (DOWN, MAINT, moved by DNS); control plane only. */
  wtSessionsLost = 0;
  readonly counters: Counters;

  constructor(
    readonly backend: string,
    readonly name: string,
    public config: ServerConfig,
    home: Home = ownHome(),
  ) {
    this.counters = new Counters(home.table, home.slot);
    this.bind(home.table, home.slot);
    this.healthCounter = config.rise;
    if (home.owner) {
      this.rmaint = false;
      this.nolb = false;
      this.health = "UP";
      this.weight = config.weight;
      this.admin = config.disabled ? "MAINT" : "READY";
    }
  }

  /** Points the shared fields at `slot` of `table`. */
  bind(table: SharedTable, slot: number): void {
    this.g = table.gauges;
    this.gi = table.gaugeBase(slot);
    this.counters.bind(table, slot);
  }

  /** Own health: from checks, or mirrored from the tracked server. Unchecked servers stay UP.
   * One copy for every thread (the control plane writes it). */
  get health(): Health {
    return HEALTHS[Atomics.load(this.g, this.gi + G.health)];
  }
  set health(h: Health) {
    Atomics.store(this.g, this.gi + G.health, h === "UP" ? 0 : 1);
  }

  /**
   * Takes the server DOWN if it is UP; true for the one caller that did (passive marking from
   * several workers at once: one of them reports it).
   */
  takeDown(): boolean {
    return Atomics.compareExchange(this.g, this.gi + G.health, 0, 1) === 0;
  }

  get admin(): AdminState {
    return ADMINS[Atomics.load(this.g, this.gi + G.admin)];
  }
  set admin(a: AdminState) {
    Atomics.store(this.g, this.gi + G.admin, ADMINS.indexOf(a));
  }

  /**
   * Live Wt sessions of this server's process (src/session/table.ts writes it, the control
   * plane only; balance `sessions` and the stats read it). 0 when `wt-sessions` is off.
   */
  get wtSessions(): number {
    return Atomics.load(this.g, this.gi + G.sessions);
  }
  set wtSessions(n: number) {
    Atomics.store(this.g, this.gi + G.sessions, n);
  }

  /** HAProxy's RMAINT: a DNS-discovered server with no address (MAINT "resolution"). One copy
   * for every thread (discovery in the control plane sets it). */
  get rmaint(): boolean {
    return Atomics.load(this.g, this.gi + G.rmaint) === 1;
  }
  set rmaint(on: boolean) {
    Atomics.store(this.g, this.gi + G.rmaint, on ? 1 : 0);
  }

  /**
   * HAProxy's NOLB (a "stopping" server): UP, but its HTTP check answered 404 under `http-check
   * disable-on-404`, so it takes no new traffic while persistent requests still reach it. One
   * copy for every thread (the control plane's checks set it).
   */
  get nolb(): boolean {
    return Atomics.load(this.g, this.gi + G.nolb) === 1;
  }
  set nolb(on: boolean) {
    Atomics.store(this.g, this.gi + G.nolb, on ? 1 : 0);
  }

  /** NOLB as routing sees it: a tracker takes the tracked server's. */
  get effectiveNolb(): boolean {
    return this.tracks ? this.tracks.effectiveNolb : this.nolb;
  }

  /** HAProxy's stopped server (DOWN, or MAINT): persistence (a cookie, `use-server`, a live Wt
   * session) reaches any server that is not, DRAIN and NOLB included. */
  get stopped(): boolean {
    return this.effectiveHealth === "DOWN" || this.effectiveAdmin === "MAINT";
  }

  /** Takes only the requests that persist to it (DRAIN, or NOLB while UP): "drained" once its
   * last Wt session ended. */
  get draining(): boolean {
    const admin = this.effectiveAdmin;
    return admin === "DRAIN" ||
      (admin === "READY" && this.effectiveNolb && this.effectiveHealth === "UP");
  }

  /** Effective weight (the admin API may change it). */
  get weight(): number {
    return Atomics.load(this.g, this.gi + G.weight);
  }
  set weight(w: number) {
    Atomics.store(this.g, this.gi + G.weight, w);
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

  /** Usable for new traffic: UP (not NOLB), READY and weight > 0 (Pingora's `healthy &&
   * enabled`); a DNS-discovered server also needs its address in this thread (a worker that has
   * not got it yet must not connect to the name in the configuration). */
  get usable(): boolean {
    return this.effectiveHealth === "UP" && this.effectiveAdmin === "READY" && this.weight > 0 &&
      !this.effectiveNolb && (this.dns !== null || !this.config.dns);
  }
}

export class BackendState {
  readonly counters: Counters;
  constructor(readonly name: string, home: Home = ownHome()) {
    this.counters = new Counters(home.table, home.slot);
  }
}

export class FrontendState {
  readonly counters: Counters;
  constructor(readonly name: string, home: Home = ownHome()) {
    this.counters = new Counters(home.table, home.slot);
  }
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
  /** Bumped when a discovered Wt prefix changes (affinity re-sorts its prefixes). */
  prefixVersion = 0;
  private listeners: Listener[] = [];
  private g: Int32Array;
  /** Passive marking in a worker (the control plane runs the health machine); null: here. */
  connectFailure: ((store: StateStore, server: ServerState, reason: string) => void) | null = null;

  /**
   * `table`: the shared rows (default: a private table for one thread). `owner`: this thread
   * allocates slots and sets initial values (the control plane); a worker adopts both.
   */
  constructor(
    public table: SharedTable = SharedTable.create(capacityFor(0), 1, false),
    readonly owner = true,
  ) {
    this.g = table.gauges;
  }

  /** Process-wide current client connections (one number for every thread). */
  get activeConnections(): number {
    return Atomics.load(this.g, GLOBAL_SLOT * GAUGE_STRIDE + G.current);
  }

  /** A client connection opened (+1) or closed (-1). */
  countConnection(delta: 1 | -1): void {
    this.table.add(GLOBAL_SLOT * GAUGE_STRIDE + G.current, delta);
  }

  /** Where a maxconn gate counts: the frontend's row, or the global row (null). */
  gateCell(frontend: string | null): [SharedTable, number] {
    const slot = frontend === null ? GLOBAL_SLOT : this.table.slot(`f:${frontend}`)!;
    return [this.table, this.table.gaugeBase(slot) + G.gate];
  }

  /** The home of `key` in the table (the control plane allocates, a worker finds). */
  private home(key: string): Home {
    const slot = this.table.slot(key);
    if (slot === null) throw new Error(`state table: no slot for ${key}`);
    return { table: this.table, slot, owner: this.owner };
  }

  /** Moves every row to `next` (a bigger table, or the one a worker was sent). */
  rebind(next: SharedTable): void {
    this.table = next;
    this.g = next.gauges;
    const at = (key: string) => next.slot(key)!;
    for (const [k, st] of this.servers) st.bind(next, at(`s:${k}`));
    for (const [k, st] of this.backends) st.counters.bind(next, at(`b:${k}`));
    for (const [k, st] of this.frontends) st.counters.bind(next, at(`f:${k}`));
  }

  /**
   * Gives `config`'s new names their slots and initial values without changing the store (the
   * control plane, before its workers prepare a reload that may still fail).
   */
  reserveSlots(config: Config): void {
    this.reserve(config);
    for (const b of config.backends) {
      this.table.slot(`b:${b.name}`);
      for (const s of b.servers) {
        const key = `${b.name}/${s.name}`;
        if (!this.servers.has(key)) new ServerState(b.name, s.name, s, this.home(`s:${key}`));
      }
    }
    for (const f of config.frontends) this.table.slot(`f:${f.name}`);
  }

  /** Makes room for `config`'s names: a full table is copied into one twice as big. */
  private reserve(config: Config): void {
    let fresh = 0;
    for (const b of config.backends) {
      if (!this.backends.has(b.name)) fresh++;
      for (const s of b.servers) if (!this.servers.has(`${b.name}/${s.name}`)) fresh++;
    }
    for (const f of config.frontends) if (!this.frontends.has(f.name)) fresh++;
    if (!this.owner || this.table.used + fresh <= this.table.capacity) return;
    this.rebind(this.table.grown(capacityFor(this.table.used + fresh)));
  }

  /** Makes the store match `config`, keeping the state of names that remain. */
  sync(config: Config): void {
    this.reserve(config);
    const serverKeys = new Set<string>();
    for (const b of config.backends) {
      if (!this.backends.has(b.name)) {
        this.backends.set(b.name, new BackendState(b.name, this.home(`b:${b.name}`)));
      }
      for (const s of b.servers) {
        const key = `${b.name}/${s.name}`;
        serverKeys.add(key);
        const existing = this.servers.get(key);
        if (existing) {
          existing.config = s;
          clampHealthCounter(existing);
          // NOLB only lasts while the checks that set it (`http-check disable-on-404`) remain.
          if (
            this.owner && existing.nolb && !(s.check && b.settings.options.httpchk?.disableOn404)
          ) {
            existing.nolb = false;
          }
          existing.tracks = null;
          existing.trackers.length = 0;
        } else this.servers.set(key, new ServerState(b.name, s.name, s, this.home(`s:${key}`)));
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
      if (!this.frontends.has(f.name)) {
        this.frontends.set(f.name, new FrontendState(f.name, this.home(`f:${f.name}`)));
      }
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
