// The open mode-tcp sessions of each server, so that `on-marked-down shutdown-sessions` can
// cut them when the server goes DOWN (HAProxy logs them with termination "DD").

import type { StateStore } from "../state.ts";

export interface Killable {
  kill(termination: string): void;
}

export class SessionTable {
  private readonly byServer = new Map<string, Set<Killable>>();

  add(serverKey: string, s: Killable): void {
    let set = this.byServer.get(serverKey);
    if (!set) this.byServer.set(serverKey, set = new Set());
    set.add(s);
  }

  delete(serverKey: string, s: Killable): void {
    const set = this.byServer.get(serverKey);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.byServer.delete(serverKey);
  }

  /** Sessions open on `serverKey` now. */
  count(serverKey: string): number {
    return this.byServer.get(serverKey)?.size ?? 0;
  }

  /** Cuts every session of `serverKey`. */
  shutdown(serverKey: string, termination = "DD--"): void {
    const set = this.byServer.get(serverKey);
    if (!set) return;
    for (const s of [...set]) s.kill(termination);
  }

  /** Follows the store: a server with `on-marked-down shutdown-sessions` going DOWN is cut. */
  watch(store: StateStore): () => void {
    return store.on((e) => {
      if (e.kind !== "down" || e.server === null) return;
      const st = store.servers.get(e.key);
      if (st?.config.onMarkedDown === "shutdown-sessions") this.shutdown(e.key);
    });
  }
}
