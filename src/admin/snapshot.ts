// One plain-data picture of the running proxy: what /stats.json, /api/servers, /api/info and
// the live stats page show. Built on demand from the Config and the StateStore.

import type { BackendConfig, Config } from "../config/model.ts";
import { Counters, type ServerState, type StateStore } from "../state.ts";
import { serverStatus as healthStatus } from "../health/machine.ts";
import { addressText } from "../discovery/sink.ts";
import { processKey } from "../session/ends.ts";
import type { AdminRuntime } from "./runtime.ts";
import type { RatePoint, RateSampler } from "./rates.ts";
import denoJson from "../../deno.json" with { type: "json" };

export const VERSION: string = denoJson.version;

export interface CountersView {
  requests: number;
  /** By status class: "1xx".."5xx", "other". */
  responses: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  connectErrors: number;
  responseErrors: number;
  retries: number;
  redispatches: number;
  current: number;
  max: number;
  wsOpen: number;
  wsTotal: number;
  /** Requests per second over the last sample period, and the highest seen. */
  rate: number;
  maxRate: number;
  /** Mean total response time (ms) over all requests; null before the first. */
  avgTimeMs: number | null;
}

export interface ServerView {
  backend: string;
  server: string;
  key: string;
  address: string;
  /**
   * HAProxy-worded status (src/health/machine.ts serverStatus): "UP", "UP 1/3", "DOWN",
   * "DOWN 1/2", "DRAIN", "DRAIN (via b/s)", "MAINT", "MAINT (via b/s)", "no check".
   */
  status: string;
  /** Colour class of the status: up, down, drain, maint, going-down, going-up. */
  statusClass: "up" | "down" | "drain" | "maint" | "going-down" | "going-up";
  health: "UP" | "DOWN";
  effectiveHealth: "UP" | "DOWN";
  admin: "READY" | "DRAIN" | "MAINT";
  effectiveAdmin: "READY" | "DRAIN" | "MAINT";
  usable: boolean;
  weight: number;
  configWeight: number;
  backup: boolean;
  check: boolean;
  /** "backend/server" this one tracks, or null. */
  tracks: string | null;
  lastChange: number;
  lastCheck: { time: number; ok: boolean; durationMs: number; info: string } | null;
  counters: CountersView;
  /** Live Wt sessions of the server's process; null when `wt-sessions` is off. */
  sessions: number | null;
  /** Wt sessions its process lost (DOWN, MAINT, moved by DNS); null when `wt-sessions` is off. */
  sessionsLost: number | null;
  /** In DRAIN or NOLB (own or via track) with no live Wt session left (false when sessions are
   * off). */
  drained: boolean;
  history?: RatePoint[];
}

export interface BackendView {
  name: string;
  status: "UP" | "DOWN";
  /** HAProxy's nbsrv(): what `nbsrv(NAME)` in an ACL evaluates to right now. */
  nbsrv: number;
  activeServers: number;
  backupServers: number;
  /** Sum of the weights of usable servers (HAProxy's backend weight). */
  weight: number;
  balance: string;
  counters: CountersView;
  /** Live Wt sessions of its servers' processes; null when `wt-sessions` is off. */
  sessions: number | null;
  /** Wt sessions its servers' processes lost; null when `wt-sessions` is off. */
  sessionsLost: number | null;
  servers: ServerView[];
  history?: RatePoint[];
}

export interface FrontendView {
  name: string;
  status: "OPEN" | "STOP";
  binds: string[];
  maxconn: number;
  counters: CountersView;
  history?: RatePoint[];
}

export interface InfoView {
  name: "wtproxy";
  version: string;
  pid: number;
  startedAt: number;
  uptimeSeconds: number;
  /** Process-wide current client connections. */
  currentConnections: number;
  /** Data-plane threads. */
  nbthread: number;
  /** Requests received by each data-plane worker, all frontends ([] at nbthread 1): is the
   * kernel's accept spread even? */
  requestsPerWorker: number[];
  /** Log lines dropped by the logging room (null when no logging is attached). */
  droppedLogLines: number | null;
  ready: boolean;
  stopping: boolean;
  configFile: string;
  listeners: { frontend: string; hostname: string; port: number }[];
  frontends: number;
  backends: number;
  servers: number;
}

export interface StatsView {
  time: number;
  info: InfoView;
  frontends: FrontendView[];
  backends: BackendView[];
}

const CLASSES = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];

export function countersView(c: Counters, rates?: RateSampler, id?: string): CountersView {
  const responses: Record<string, number> = {};
  for (let i = 1; i <= 5; i++) responses[CLASSES[i]] = c.responses[i];
  responses.other = c.responses[0];
  return {
    requests: c.requests,
    responses,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    connectErrors: c.connectErrors,
    responseErrors: c.responseErrors,
    retries: c.retries,
    redispatches: c.redispatches,
    current: c.current,
    max: c.max,
    wsOpen: c.wsOpen,
    wsTotal: c.wsTotal,
    rate: rates && id ? round(rates.rate(id)) : 0,
    maxRate: rates && id ? round(rates.maxRate(id)) : 0,
    avgTimeMs: c.timeCount > 0 ? round(c.timeSum / c.timeCount) : null,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The health room's HAProxy-worded status, and the colour class the stats page gives it. */
export function serverStatus(s: ServerState): { text: string; cls: ServerView["statusClass"] } {
  const text = healthStatus(s);
  const word = text.split(" ")[0];
  const partial = /^(UP|DOWN) \d+\/\d+$/.test(text);
  // NOLB is coloured as DRAIN: no new traffic, persistent requests still go there.
  const cls = word === "MAINT"
    ? "maint"
    : word === "DRAIN" || word === "NOLB"
    ? "drain"
    : word === "DOWN"
    ? (partial ? "going-up" : "down")
    : partial
    ? "going-down"
    : "up";
  return { text, cls };
}

/** Is the Wt session table on (`wt-sessions`)? */
export function wtOn(cfg: Config): boolean {
  return Boolean(cfg.global.wtSessions);
}

export function serverView(
  s: ServerState,
  rates?: RateSampler,
  withHistory = false,
  wt = false,
): ServerView {
  const st = serverStatus(s);
  const id = `server:${s.key}`;
  const v: ServerView = {
    backend: s.backend,
    server: s.name,
    key: s.key,
    address: s.dns ? addressText(s.dns) : s.config.addressText,
    status: st.text,
    statusClass: st.cls,
    health: s.health,
    effectiveHealth: s.effectiveHealth,
    admin: s.admin,
    effectiveAdmin: s.effectiveAdmin,
    usable: s.usable,
    weight: s.weight,
    configWeight: s.config.weight,
    backup: s.config.backup,
    check: s.config.check,
    tracks: s.tracks?.key ?? null,
    lastChange: s.lastChange,
    lastCheck: s.lastCheck ? { ...s.lastCheck } : null,
    counters: countersView(s.counters, rates, id),
    sessions: wt ? s.wtSessions : null,
    sessionsLost: wt ? s.wtSessionsLost : null,
    drained: wt && s.draining && s.wtSessions === 0,
  };
  if (withHistory && rates) v.history = rates.history(id);
  return v;
}

export function backendView(
  b: BackendConfig,
  store: StateStore,
  rates?: RateSampler,
  withHistory = false,
  wt = false,
): BackendView {
  const servers: ServerView[] = [];
  // Servers at one address are one Wt process: its sessions count once.
  const procs = new Map<string, [number, number]>();
  let active = 0;
  let backup = 0;
  let weight = 0;
  for (const sc of b.servers) {
    const s = store.server(b.name, sc.name);
    if (!s) continue;
    servers.push(serverView(s, rates, withHistory, wt));
    procs.set(processKey(b.name, sc), [s.wtSessions, s.wtSessionsLost]);
    if (s.usable) {
      if (sc.backup) backup++;
      else active++;
      weight += s.weight;
    }
  }
  const nbsrv = store.nbsrv(b);
  const bs = store.backends.get(b.name);
  const id = `backend:${b.name}`;
  const v: BackendView = {
    name: b.name,
    status: nbsrv > 0 ? "UP" : "DOWN",
    nbsrv,
    activeServers: active,
    backupServers: backup,
    weight,
    balance: b.balance.algorithm,
    counters: bs ? countersView(bs.counters, rates, id) : countersView(new Counters()),
    sessions: wt ? [...procs.values()].reduce((a, [n]) => a + n, 0) : null,
    sessionsLost: wt ? [...procs.values()].reduce((a, [, n]) => a + n, 0) : null,
    servers,
  };
  if (withHistory && rates) v.history = rates.history(id);
  return v;
}

export function infoView(rt: AdminRuntime): InfoView {
  const cfg: Config = rt.config;
  const store = rt.state;
  return {
    name: "wtproxy",
    version: VERSION,
    pid: Deno.pid,
    startedAt: store.startedAt,
    uptimeSeconds: Math.floor((Date.now() - store.startedAt) / 1000),
    currentConnections: store.activeConnections,
    nbthread: rt.nbthread ?? 1,
    requestsPerWorker: requestsPerWorker(store),
    droppedLogLines: rt.logging ? rt.logging.dropped() : null,
    ready: isReady(rt),
    stopping: rt.stopping === true,
    configFile: cfg.file,
    listeners: (rt.listeners ?? []).map((l) => ({ ...l })),
    frontends: cfg.frontends.length,
    backends: cfg.backends.length,
    servers: store.servers.size,
  };
}

/** Requests per data-plane worker, summed over the frontends ([] without workers). */
export function requestsPerWorker(store: AdminRuntime["state"]): number[] {
  const out: number[] = [];
  for (const fs of store.frontends.values()) {
    fs.counters.perWorker("requests").forEach((n, i) => out[i] = (out[i] ?? 0) + n);
  }
  return out;
}

export function isReady(rt: AdminRuntime): boolean {
  return rt.ready !== false && rt.stopping !== true;
}

export function statsView(rt: AdminRuntime, rates?: RateSampler, withHistory = false): StatsView {
  const cfg = rt.config;
  const store = rt.state;
  const stopping = rt.stopping === true;
  return {
    time: Date.now(),
    info: infoView(rt),
    frontends: cfg.frontends.map((f) => {
      const fs = store.frontends.get(f.name);
      const id = `frontend:${f.name}`;
      const v: FrontendView = {
        name: f.name,
        status: stopping ? "STOP" : "OPEN",
        binds: f.binds.map((b) => b.text),
        maxconn: f.settings.maxconn || cfg.global.maxconn,
        counters: fs ? countersView(fs.counters, rates, id) : countersView(new Counters()),
      };
      if (withHistory && rates) v.history = rates.history(id);
      return v;
    }),
    backends: cfg.backends.map((b) => backendView(b, store, rates, withHistory, wtOn(cfg))),
  };
}
