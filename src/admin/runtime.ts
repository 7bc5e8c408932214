// What the admin room needs of the running proxy. src/runtime.ts's Runtime satisfies it
// structurally; tests build one from a Config and a StateStore without any listener.

import type { Config } from "../config/model.ts";
import type { SessionView } from "../session/table.ts";
import type { AdminState, StateStore } from "../state.ts";

export interface AdminRuntime {
  /** The current configuration snapshot (read on every request: a reload swaps it). */
  readonly config: Config;
  readonly state: StateStore;
  /** The proxy's client listeners (shown by /api/info). */
  readonly listeners?: readonly { frontend: string; hostname: string; port: number }[];
  /** True once the configuration is loaded and the listeners are up; absent = true. */
  readonly ready?: boolean;
  /** True from the moment a stop (SIGTERM/SIGINT) begins; absent = false. */
  readonly stopping?: boolean;
  /** The logging room's counter of log lines dropped (full queue, unreachable sink). */
  readonly logging?: { dropped(): number };
  /** Data-plane threads (absent = 1). */
  readonly nbthread?: number;
  /** The live Wt session table, when `wt-sessions` is set (GET /api/sessions lists it). */
  readonly sessions?: { list(server: string): SessionView[] } | null;
  /**
   * Sets a server's admin state in the control plane (health machine, event line, drain
   * bookkeeping); a data-plane worker sends it there. Absent = setAdminState on `state`.
   */
  readonly setAdminState?: (key: string, state: AdminState) => void;
}
