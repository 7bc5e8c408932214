// Which state events end the Wt sessions of a process (the one rule of the control plane's
// session table and of the workers' replicas): its server went DOWN, every server entry of it is
// out (MAINT, including MAINT "resolution" when DNS has no address for it, or DOWN), or DNS
// discovery moved the server to another address, port or name (a new Wt process: the old one's
// sessions are not there). Returns why, worded for the event line, or null.

import type { ServerConfig } from "../config/model.ts";
import type { ServerState, StateEvent } from "../state.ts";

export function sessionsEndedBy(
  e: StateEvent,
  servers: readonly ServerState[],
): string | null {
  if (e.server === null) return null;
  if (e.kind === "down") return "server DOWN";
  if (e.kind === "dns") {
    // A slot that had no address had no sessions: only a move from somewhere counts.
    const m = e.moved;
    return m && m.from !== null ? `changed its ${m.what} from ${m.from} to ${m.to}` : null;
  }
  if (e.kind !== "admin" || servers.length === 0) return null;
  const out = servers.every((s) => s.effectiveAdmin === "MAINT" || s.effectiveHealth === "DOWN");
  if (!out) return null;
  return servers.some((s) => s.rmaint) ? "no address from DNS: MAINT (resolution)" : "MAINT";
}

/**
 * The Wt process of a configured server: servers at one fixed address are one process (the
 * recipe's bck1/srv1 and bck_lb/srv1); a discovered server (`resolvers`, a `server-template`
 * slot) is its own, whatever address it has now (every slot shares the configured name).
 */
export function processKey(backend: string, s: ServerConfig): string {
  return s.dns ? `${backend}/${s.name}` : `${s.address.host}:${s.address.port}`;
}
