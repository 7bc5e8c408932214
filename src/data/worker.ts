// A data-plane worker (one per thread past the first, `global.nbthread`): runs one DataPlane
// on its own reusePort listeners, reads server state from the shared table, and sends what it
// sees to the control plane (access log records, passive DOWN marks) as batched events.

/// <reference lib="deno.worker" />

import type { RequestLog } from "../log/record.ts";
import { checkedRoot, HealthOpError } from "../health/machine.ts";
import { type ServerState, type StateEvent, StateStore } from "../state.ts";
import { SharedTable } from "../shared/table.ts";
import { BatchedChannel, PushHandlers, remote } from "../shared/channel.ts";
import type { SessionLookup, SessionObserver } from "../session/observer.ts";
import { SessionReplica } from "../session/replica.ts";
import type { Config } from "../config/model.ts";
import type { FromWorker, ToWorker } from "../shared/protocol.ts";
import { type DataPlane, type Prepared, startDataPlane } from "./plane.ts";
import { registerPushes } from "./pushes.ts";
import { type DiscoveredAddress, localAddressSink } from "../discovery/sink.ts";

const post = (m: FromWorker) => self.postMessage(m);
const channel = new BatchedChannel((batch) => post({ t: "events", batch }));
/** Control-plane pushes (e.g. discovered server addresses) land here. */
const pushes = new PushHandlers();
/** Wt session observations become "wt" events for the control plane's session table. */
const observer = remote<SessionObserver>(channel, "wt");
/** What this worker knows of live sessions (its own observations and the relayed ones). */
let replica: SessionReplica | null = null;

function sessionsFor(config: Config): (SessionObserver & SessionLookup) | null {
  if (!config.global.wtSessions) return replica = null;
  if (replica) replica.sync(config);
  else replica = new SessionReplica(config, Date.now, store?.servers);
  const r = replica;
  return {
    answered(server, id) {
      r.answered(server, id);
      observer.answered(server, id);
    },
    wsOpened(server, id) {
      r.wsOpened(server, id);
      observer.wsOpened(server, id);
    },
    wsClosed(server, id) {
      r.wsClosed(server, id);
      observer.wsClosed(server, id);
    },
    isLive: (server, id) => r.isLive(server, id),
  };
}

// What other workers observed (relayed by the control plane), and the control plane's state
// events (server DOWN...) for the listeners of this worker's store (tcp on-marked-down).
pushes.on("wt-peer", (batch) => replica?.apply(batch as [string, [string, string]][]));
pushes.on("state", (e) => {
  store?.emit(e as StateEvent);
  replica?.stateEvent(e as StateEvent);
});
const prepared = new Map<number, Prepared>();
let plane: DataPlane | null = null;
let store: StateStore | null = null;
let table: SharedTable | null = null;
let index = 0;

/** Takes the checked server DOWN for every worker at once; the control plane does the rest. */
function passive(_store: StateStore, server: ServerState, reason: string): void {
  const root = checkedRoot(server);
  if (!root.config.check || root.admin === "MAINT") return;
  if (root.takeDown()) channel.send("passive-down", [root.key, reason]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Follows the control plane's table: new slots, or a bigger table after a reload. */
function follow(init: SharedTable["init"]): void {
  if (!table || !store) return;
  if (init.generation === table.init.generation) table.adopt(init.slots);
  else {
    const old = table;
    table = SharedTable.attach(init, index);
    table.carryOver(old);
    store.rebind(table);
  }
}

async function onMessage(m: ToWorker): Promise<void> {
  switch (m.t) {
    case "start": {
      index = m.index;
      table = SharedTable.attach(m.table, index);
      store = new StateStore(table, false);
      store.connectFailure = passive;
      try {
        store.sync(m.config);
        const sink = localAddressSink(store, null);
        for (const [key, addr] of m.addresses) sink.setAddress(key, addr as DiscoveredAddress);
        plane = startDataPlane(m.config, store, {
          logger: { request: (fe: string, rec: RequestLog) => channel.send("log", [fe, rec]) },
          reusePort: true,
          pool: m.pool,
          sessions: sessionsFor,
          // The stats page's admin forms: the control plane does it as its admin API does.
          setAdminState: (key, state) => {
            if (!store?.servers.has(key)) throw new HealthOpError(`No such server: ${key}`);
            channel.send("admin-state", [key, state]);
          },
        }, new Map(m.ports));
        registerPushes(pushes, plane);
        post({ t: "ready", listeners: plane.listeners });
      } catch (err) {
        post({ t: "start-failed", error: errorText(err) });
      }
      return;
    }
    case "prepare": {
      if (!plane) return;
      try {
        follow(m.table);
        const p = plane.prepare(m.config, new Map(m.ports));
        prepared.set(m.id, p);
        post({ t: "prepared", id: m.id, listeners: p.listeners });
      } catch (err) {
        post({ t: "failed", id: m.id, error: errorText(err) });
      }
      return;
    }
    case "commit": {
      const p = prepared.get(m.id);
      prepared.delete(m.id);
      await p?.commit();
      post({ t: "committed", id: m.id });
      return;
    }
    case "abort":
      prepared.get(m.id)?.abort();
      prepared.delete(m.id);
      return;
    case "push":
      pushes.deliver(m.kind, m.data);
      return;
    case "stop":
      await plane?.stop(m.graceMs);
      channel.flush();
      post({ t: "stopped" });
      self.close();
      return;
    case "fault":
      setTimeout(() => {
        throw new Error("fault injected by the control plane (test)");
      }, 0);
      return;
  }
}

// Messages are handled one at a time, in order (a commit never overtakes its prepare).
let queue = Promise.resolve();
self.onmessage = (e: MessageEvent<ToWorker>) => {
  queue = queue.then(() => onMessage(e.data));
};
