// Program events in HAProxy's words and at HAProxy's levels (S26 src/proxy.c, src/haproxy.c),
// for the runtime to send through Logging.event() at start, reload and stop.

import { type Config, type Diagnostic, formatDiagnostic } from "../config/model.ts";
import type { StateStore } from "../state.ts";
import type { Logging } from "./logging.ts";

/** Configuration warnings (warning), then `Proxy NAME started.` (notice) for every proxy. */
export function logStart(logging: Logging, config: Config): void {
  logWarnings(logging, config.warnings);
  for (const f of config.frontends) logging.event("notice", `Proxy ${f.name} started.`);
  for (const b of config.backends) logging.event("notice", `Proxy ${b.name} started.`);
}

export function logWarnings(logging: Logging, warnings: readonly Diagnostic[]): void {
  for (const w of warnings) logging.event("warning", formatDiagnostic(w));
}

/** A successful reload (notice) with the new configuration's warnings. */
export function logReload(logging: Logging, config: Config): void {
  logWarnings(logging, config.warnings);
  logging.event("notice", `Configuration ${config.file} reloaded.`);
}

/** A reload that failed; the old configuration keeps running (alert). */
export function logReloadFailed(logging: Logging, file: string, err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  logging.event("alert", `Reload of ${file} failed, keeping the running configuration: ${msg}`);
}

/** `Stopping frontend NAME in N ms.` (warning) for every frontend, at the start of a drain. */
export function logStopping(logging: Logging, config: Config, graceMs: number): void {
  for (const f of config.frontends) {
    logging.event("warning", `Stopping frontend ${f.name} in ${graceMs} ms.`);
  }
}

/** `Proxy NAME stopped (cumulated conns: FE: n, BE: m).` (warning) for every proxy. */
export function logStopped(logging: Logging, config: Config, store: StateStore): void {
  for (const f of config.frontends) {
    const fe = store.frontends.get(f.name)?.counters.requests ?? 0;
    logging.event("warning", `Proxy ${f.name} stopped (cumulated conns: FE: ${fe}, BE: 0).`);
  }
  for (const b of config.backends) {
    const be = store.backends.get(b.name)?.counters.requests ?? 0;
    logging.event("warning", `Proxy ${b.name} stopped (cumulated conns: FE: 0, BE: ${be}).`);
  }
}
