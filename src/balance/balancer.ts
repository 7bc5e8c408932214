// What the proxy calls: picks a usable server of one backend for one request.
// Owned by the balance room: usable filtering, backup fallback, Wt affinity, then the policy.
import type { RequestInfo } from "../proxy/request.ts";
import type { ServerRef } from "./selector.ts";

export interface Balancer {
  /**
   * A usable server for `req`, or undefined when the backend has none left.
   * `exclude` holds "backend/server" keys that already failed for this request (redispatch).
   */
  pick(req: RequestInfo, exclude?: ReadonlySet<string>): ServerRef | undefined;
  /** Every server of the backend, usable or not (stats, health). */
  readonly servers: readonly ServerRef[];
}
