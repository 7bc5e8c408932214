// The demo page's Drain / Ready buttons, acting on the proxy running beside the demo servers.
// A demo server is drained through the proxy's entries that take new sessions: the servers at
// its address that no other server there tracks (the recipe's bck_lb/srv1, not bck1/srv1 which
// carries the live sessions; with `affinity`, its one server). Draining those stops new
// sessions only; the live ones keep their server.

import { setAdminState } from "../health/machine.ts";
import type { ServerState, StateStore } from "../state.ts";
import type { DemoServerStatus } from "./wtserver.ts";

/** What the demo needs of the running proxy. */
export interface DemoProxy {
  readonly state: StateStore;
  readonly sessions: unknown | null;
}

export function balancedEntries(proxy: DemoProxy, port: number): ServerState[] {
  const at = [...proxy.state.servers.values()].filter((s) => s.config.address.port === port);
  return at.filter((s) => !s.trackers.some((t) => t.config.address.port === port));
}

/** The proxy's view of the demo server on `port`, for the page. */
export function proxyView(
  proxy: DemoProxy,
  port: number,
): Pick<DemoServerStatus, "admin" | "sessions" | "drained"> {
  const es = balancedEntries(proxy, port);
  const sessions = proxy.sessions ? (es[0]?.wtSessions ?? 0) : null;
  const all = (state: string) => es.length > 0 && es.every((e) => e.effectiveAdmin === state);
  const admin = all("MAINT") ? "MAINT" : all("DRAIN") ? "DRAIN" : "READY";
  return { admin, sessions, drained: admin === "DRAIN" && sessions === 0 };
}

/** Drain (no new session; the live ones stay) or back to ready. */
export function setDrain(proxy: DemoProxy, port: number, state: "DRAIN" | "READY"): void {
  for (const s of balancedEntries(proxy, port)) setAdminState(proxy.state, s.key, state);
}
