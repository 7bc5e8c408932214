// HAProxy's server state machine, without sockets or timers: check results move the health
// counter, `track` mirrors state down the tracker tree, admin states (READY / DRAIN / MAINT)
// stay separate from health, and every change is published with HAProxy's words and level.
// `http-check disable-on-404`: a 404 (L7OKCD) puts an UP server in NOLB, HAProxy's "stopping"
// state (no new traffic, persistent requests still go there); a 2xx/3xx takes it back, failed
// checks take it DOWN (a notice, not an alert), and a 404 never brings a DOWN server UP.
//
// Health counter h in [0, rise+fall-1], UP when h >= rise (src/check.c set_server_check_status):
// a failure decrements it (falling under rise resets it to 0), a success increments it (reaching
// rise jumps to rise+fall-1). A server starts at h = rise: UP, but the first failure takes it
// DOWN; once a check passed, it takes `fall` failures in a row; from DOWN, `rise` successes.

import type { AdminState, Health, ServerState, StateEvent, StateStore } from "../state.ts";
import type { CheckResult } from "./checker.ts";

/** Highest HAProxy server weight. */
export const MAX_WEIGHT = 256;

/** Thrown by the admin operations for an unknown server or an invalid value. */
export class HealthOpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HealthOpError";
  }
}

/** The server whose checks decide `st`'s health: itself, or the end of its `track` chain. */
export function checkedRoot(st: ServerState): ServerState {
  let s = st;
  while (s.tracks) s = s.tracks;
  return s;
}

/** Stats-page status in HAProxy's words: "UP", "UP 1/3", "NOLB", "NOLB 1/3", "DOWN",
 * "DOWN 1/2", "MAINT", "MAINT (via b/s)", "DRAIN", "DRAIN (via b/s)", "no check" (unchecked,
 * untracked, UP). */
export function serverStatus(st: ServerState): string {
  const eff = st.effectiveAdmin;
  if (eff === "MAINT") {
    if (st.admin === "MAINT") return "MAINT";
    if (st.rmaint) return "MAINT (resolution)";
    return `MAINT (via ${viaOf(st, "MAINT").key})`;
  }
  if (eff === "DRAIN" && st.effectiveHealth === "UP") {
    return st.admin === "DRAIN" ? "DRAIN" : `DRAIN (via ${viaOf(st, "DRAIN").key})`;
  }
  const root = checkedRoot(st);
  if (!root.config.check) return st.tracks ? root.health : "no check";
  const { rise, fall } = root.config;
  const h = root.healthCounter;
  if (root.health === "UP") {
    const word = root.nolb ? "NOLB" : "UP";
    return h >= rise + fall - 1 ? word : `${word} ${h - rise + 1}/${fall}`;
  }
  return h > 0 ? `DOWN ${h}/${rise}` : "DOWN";
}

/** The nearest tracked server that is itself in `state` (for "via" texts). */
function viaOf(st: ServerState, state: AdminState): ServerState {
  let s = st.tracks;
  while (s) {
    if (s.admin === state) return s;
    s = s.tracks;
  }
  return st.tracks ?? st;
}

/** Applies one active check result to a checked server (ignored while it is in MAINT). */
export function applyCheckResult(store: StateStore, st: ServerState, res: CheckResult): void {
  st.lastCheck = { time: Date.now(), ok: res.ok, durationMs: res.durationMs, info: res.reason };
  if (st.admin === "MAINT" || st.rmaint) return; // HAProxy pauses checks in maintenance
  const { rise, fall } = st.config;
  const max = rise + fall - 1;
  let h = st.healthCounter;
  if (!res.ok) {
    if (h > 0) {
      st.failedChecks++;
      h--;
      if (h < rise) h = 0;
    }
  } else if (h < max) {
    h++;
    if (h >= rise) h = max;
  }
  st.healthCounter = h;
  // disable-on-404: a 404 counts as a pass, but never brings a DOWN server UP.
  const soft = res.status === "L7OKCD";
  const next: Health = h >= rise && !(soft && st.health === "DOWN") ? "UP" : "DOWN";
  const why = `, reason: ${res.reason}, check duration: ${res.durationMs}ms`;
  if (next !== st.health) setHealth(store, st, next, why);
  // A pass decides NOLB (404: on, 2xx/3xx: off); a failure leaves it until the server is DOWN.
  if (next === "UP" && res.ok) setNolb(store, st, soft, why);
}

/**
 * Passive marking (beyond HAProxy): the proxy saw a refused or timed-out connect to `server`.
 * The checked server behind it (itself, or the end of its `track` chain) goes DOWN at once, as
 * if a check had failed with h reset to 0; only its active checks bring it back (`rise` passes).
 * Like HAProxy's `observe layer4 error-limit 1 on-error mark-down`, and worded like it.
 * A server with no check at the end of the chain is left UP: nothing could ever bring it back,
 * and HAProxy keeps unchecked servers UP; retries and redispatch cover it instead.
 * Servers already DOWN or in MAINT are left alone (no event).
 */
export function reportConnectFailure(store: StateStore, server: ServerState, reason: string): void {
  const root = checkedRoot(server);
  if (!root.config.check || root.health === "DOWN" || root.effectiveAdmin === "MAINT") return;
  if (!store.servers.has(root.key)) return;
  root.healthCounter = 0;
  root.failedChecks++;
  const info = `Detected 1 consecutive errors, last one was: L4 unsuccessful connection` +
    (reason ? ` (${reason.replaceAll('"', "#22")})` : "");
  setHealth(store, root, "DOWN", `, reason: Health analyze, info: "${info}"`);
}

/**
 * Passive marking seen by a data-plane worker, which already took `key` DOWN in the shared
 * table (ServerState.takeDown(), so every worker re-routes at once): the rest of
 * reportConnectFailure (health counter, trackers, events) runs here, in the control plane.
 */
export function reportTakenDown(store: StateStore, key: string, reason: string): void {
  const root = store.servers.get(key);
  if (!root || downSince.has(root)) return; // unknown, or already DOWN here
  root.health = "UP";
  reportConnectFailure(store, root, reason);
}

/**
 * Sets a server's admin state (the runtime API's `set server B/S state ready|drain|maint`).
 * Trackers inherit MAINT and DRAIN immediately. Leaving MAINT puts a checked server at
 * h = rise ("UP 1/3": UP, but one failed check brings it down), as HAProxy does.
 */
export function setAdminState(store: StateStore, key: string, state: AdminState): void {
  const st = store.servers.get(key);
  if (!st) throw new HealthOpError(`No such server: ${key}`);
  if (state !== "READY" && state !== "DRAIN" && state !== "MAINT") {
    throw new HealthOpError(`Invalid admin state: ${state}`);
  }
  if (st.admin === state) return;
  const before = snapshot(store, st);
  st.admin = state;
  if (before.servers.get(st)!.admin === "MAINT" && st.effectiveAdmin !== "MAINT") {
    // Leaving maintenance: checks resume from h = rise, the server is UP again (a tracker
    // follows its tracked server).
    if (st.config.check) st.healthCounter = st.config.rise;
    if (!st.tracks) setHealthQuiet(st, "UP");
  }
  publish(store, st, before, (s, was) => adminMessage(store, s, st, was));
}

/**
 * DNS discovery (HAProxy's RMAINT): a server without an address enters maintenance with the
 * reason in parentheses ("DNS NX status", "No IP for server ", "entry removed from SRV
 * record"); one that gets an address again leaves it ("Server B/S ('NAME') is DOWN/READY
 * (resolves again)"). A checked server comes back DOWN with its counter at 0: it takes
 * traffic only once `rise` checks passed. Trackers follow as for MAINT.
 */
export function setResolutionMaint(
  store: StateStore,
  st: ServerState,
  maint: boolean,
  text: string,
): void {
  if (st.rmaint === maint) return;
  const before = snapshot(store, st);
  st.rmaint = maint;
  if (!maint && st.effectiveAdmin !== "MAINT" && !st.tracks) {
    if (st.config.check) {
      st.healthCounter = 0;
      setHealthQuiet(st, "DOWN");
    } else setHealthQuiet(st, "UP");
  }
  publish(store, st, before, (s, was) => {
    if (s !== st) return adminMessage(store, s, st, was);
    if (s.effectiveAdmin === was.admin) return null;
    const name = `${prefix(s)}Server ${s.key}`;
    if (!maint) {
      return {
        kind: "admin",
        level: "notice",
        message:
          `${name} ('${text}') is ${s.effectiveHealth}/${s.effectiveAdmin} (resolves again).`,
      };
    }
    if (was.health === "DOWN") {
      return {
        kind: "admin",
        level: "notice",
        message: `${name} was DOWN and now enters maintenance (${text}).`,
      };
    }
    return {
      kind: "admin",
      level: "notice",
      message: `${name} is going DOWN for maintenance (${text})${leftText(store, s)}.`,
    };
  });
}

/**
 * A checked server whose address changed: the new address takes traffic only once `rise`
 * checks passed (the server goes DOWN with its counter at 0; an event says why).
 */
export function awaitChecks(store: StateStore, st: ServerState, why: string): void {
  if (!st.config.check || st.tracks) return;
  st.healthCounter = 0;
  if (st.health === "DOWN") return;
  setHealth(store, st, "DOWN", `, reason: ${why}`);
}

/** Sets the effective weight (0..256); 0 stops new traffic like DRAIN (nbsrv ignores it). */
export function setWeight(store: StateStore, key: string, weight: number): void {
  const st = store.servers.get(key);
  if (!st) throw new HealthOpError(`No such server: ${key}`);
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new HealthOpError(`Invalid weight: ${weight} (0..${MAX_WEIGHT})`);
  }
  if (st.weight === weight) return;
  const old = st.weight;
  const before = snapshot(store, st);
  st.weight = weight;
  publish(store, st, before, (s) =>
    s === st
      ? {
        kind: "weight",
        level: "info",
        message: `Server ${st.key} weight changed from ${old} to ${weight}.`,
      }
      : null);
}

// ---------------------------------------------------------------------------------------------

interface Was {
  health: Health;
  admin: AdminState;
  usable: boolean;
  nolb: boolean;
}

type Describe = (
  s: ServerState,
  was: Was,
) => Pick<StateEvent, "kind" | "level" | "message"> | null;

interface Snapshot {
  /** The changed server, then its trackers depth first, as they were before the change. */
  servers: Map<ServerState, Was>;
  /** Usable servers per backend before the change ("has no server available!" fires on the edge). */
  counts: Map<string, number>;
}

function snapshot(store: StateStore, root: ServerState): Snapshot {
  const servers = new Map<ServerState, Was>();
  const walk = (s: ServerState) => {
    if (servers.has(s)) return;
    servers.set(s, {
      health: s.effectiveHealth,
      admin: s.effectiveAdmin,
      usable: s.usable,
      nolb: s.effectiveNolb,
    });
    for (const t of s.trackers) walk(t);
  };
  walk(root);
  const counts = new Map<string, number>();
  for (const s of servers.keys()) counts.set(s.backend, usableCount(store, s.backend));
  return { servers, counts };
}

function usableCount(store: StateStore, backend: string): number {
  let n = 0;
  for (const s of store.servers.values()) if (s.backend === backend && s.usable) n++;
  return n;
}

/** When each DOWN server went DOWN (for `downTimeMs`). */
const downSince = new WeakMap<ServerState, number>();

/** Sets own health and mirrors it to trackers (their own `health` field) without events. */
function setHealthQuiet(st: ServerState, health: Health): void {
  const now = Date.now();
  const walk = (s: ServerState) => {
    if (s.health !== health) {
      if (health === "DOWN") {
        s.downTransitions++;
        downSince.set(s, now);
      } else {
        s.downTimeMs += now - (downSince.get(s) ?? now);
        downSince.delete(s);
      }
      s.health = health;
      s.lastChange = now;
    }
    for (const t of s.trackers) walk(t);
  };
  walk(st);
}

function setHealth(store: StateStore, st: ServerState, health: Health, reason: string): void {
  const before = snapshot(store, st);
  if (health === "DOWN") st.nolb = false; // NOLB is a way of being UP
  setHealthQuiet(st, health);
  publish(store, st, before, (s, was) => {
    if (s.effectiveHealth === was.health) return null;
    if (s.effectiveAdmin === "MAINT") return null; // no operational news while in maintenance
    const down = s.effectiveHealth === "DOWN";
    const why = s === st ? reason : ` via ${s.tracks!.key}`;
    return {
      kind: down ? "down" : "up",
      // A server failing while NOLB (stopping) gives a notice, not an alert (HAProxy).
      level: down && !was.nolb ? "alert" : "notice",
      message: `${prefix(s)}Server ${s.key} is ${down ? "DOWN" : "UP"}${why}` +
        (down ? leftText(store, s) : onlineText(store, s)) + ".",
    };
  });
}

/**
 * NOLB on or off for an UP server (`http-check disable-on-404`), mirrored by its trackers, in
 * HAProxy 2.6's words (captured): "Server b/s is stopping, reason: Layer7 check conditionally
 * passed, code: 404, check duration: 0ms. 0 active and 0 backup servers online. ...", "Server
 * t/s is stopping via b/s. ...", and back: "Server b/s is UP, reason: Layer7 check passed, ...".
 */
function setNolb(store: StateStore, st: ServerState, on: boolean, reason: string): void {
  if (st.nolb === on) return;
  const before = snapshot(store, st);
  st.nolb = on;
  publish(store, st, before, (s, was) => {
    if (s.effectiveNolb === was.nolb || s.effectiveHealth === "DOWN") return null;
    if (s.effectiveAdmin === "MAINT") return null; // no operational news while in maintenance
    const why = s === st ? reason : ` via ${s.tracks!.key}`;
    return {
      kind: on ? "nolb" : "up",
      level: "notice",
      message: `${prefix(s)}Server ${s.key} is ${on ? "stopping" : "UP"}${why}` +
        onlineText(store, s) + ".",
    };
  });
}

function adminMessage(
  store: StateStore,
  s: ServerState,
  root: ServerState,
  was: Was,
): Pick<StateEvent, "kind" | "level" | "message"> | null {
  const now = s.effectiveAdmin;
  if (now === was.admin) return null;
  const via = s === root ? "" : ` via ${s.tracks!.key}`;
  const name = `${prefix(s)}Server ${s.key}`;
  if (now === "MAINT") {
    if (was.health === "DOWN") {
      return {
        kind: "admin",
        level: "notice",
        message: `${name} was DOWN and now enters maintenance${via}.`,
      };
    }
    return {
      kind: "admin",
      level: "notice",
      message: `${name} is going DOWN for maintenance${via}${leftText(store, s)}.`,
    };
  }
  if (was.admin === "MAINT") {
    const forced = s === root ? "forced " : "";
    return {
      kind: "admin",
      level: "notice",
      message: `${name} is ${s.effectiveHealth}/${now} (leaving ${forced}maintenance).`,
    };
  }
  if (now === "DRAIN") {
    return {
      kind: "admin",
      level: "notice",
      message: `${name} enters drain state${via}${onlineText(store, s)}.`,
    };
  }
  return {
    kind: "admin",
    level: "notice",
    message: `${name} is ${s.effectiveHealth} (leaving forced drain).`,
  };
}

/** Emits one event per changed server (subtree order), each followed by "backend X has no
 * server available!" when that backend just lost its last usable server. */
function publish(
  store: StateStore,
  root: ServerState,
  before: Snapshot,
  describe: Describe,
): void {
  const events: StateEvent[] = [];
  const announced = new Set<string>();
  const time = Date.now();
  for (const [s, was] of before.servers) {
    const d = describe(s, was);
    if (!d) continue;
    if (s !== root || d.kind !== "weight") s.lastChange = Math.max(s.lastChange, time);
    events.push({ ...d, key: s.key, backend: s.backend, server: s.name, time });
    const prev = before.counts.get(s.backend) ?? 0;
    if (prev > 0 && !announced.has(s.backend) && usableCount(store, s.backend) === 0) {
      announced.add(s.backend);
      events.push({
        kind: "no-server",
        key: s.backend,
        backend: s.backend,
        server: null,
        level: "emerg",
        message: `backend ${s.backend} has no server available!`,
        time,
      });
    }
  }
  for (const e of events) store.emit(e);
}

function prefix(s: ServerState): string {
  return s.config.backup ? "Backup " : "";
}

function counts(store: StateStore, backend: string): { act: number; bck: number } {
  let act = 0;
  let bck = 0;
  for (const s of store.servers.values()) {
    if (s.backend !== backend || !s.usable) continue;
    if (s.config.backup) bck++;
    else act++;
  }
  return { act, bck };
}

function leftText(store: StateStore, s: ServerState): string {
  const { act, bck } = counts(store, s.backend);
  return `. ${act} active and ${bck} backup servers left.${
    bck && !act ? " Running on backup." : ""
  } ${s.counters.current} sessions active, 0 requeued, 0 remaining in queue`;
}

function onlineText(store: StateStore, s: ServerState): string {
  const { act, bck } = counts(store, s.backend);
  return `. ${act} active and ${bck} backup servers online.${
    bck && !act ? " Running on backup." : ""
  } 0 sessions requeued, 0 total in queue`;
}
