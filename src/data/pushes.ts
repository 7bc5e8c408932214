// What the control plane may push to a data plane (changes not in the shared table), registered
// the same way in a worker and, at nbthread 1, in the main thread's data plane.

import { type DiscoveredAddress, localAddressSink } from "../discovery/sink.ts";
import type { PushHandlers } from "../shared/channel.ts";
import type { DataPlane } from "./plane.ts";

/** Registers the data plane's push handlers (kind -> what to do with it here). */
export function registerPushes(pushes: PushHandlers, plane: DataPlane): void {
  // DNS discovery: a server slot's new address (null: none) for this data plane's store and pool.
  const sink = localAddressSink(plane.core.store, plane.core.pool);
  pushes.on("server-address", (data) => {
    const [key, addr] = data as [string, DiscoveredAddress | null];
    sink.setAddress(key, addr);
  });
}
