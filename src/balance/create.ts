// The Balancer of one backend: usable filtering (health, admin state, weight), the redispatch
// exclude set, Wt affinity, then the policy over the usable non-backup servers, else the
// first usable backup server (with `option allbackups`: the policy over every usable backup).
import type { BackendConfig } from "../config/model.ts";
import type { StateStore } from "../state.ts";
import type { SessionLookup } from "../session/observer.ts";
import type { Balancer } from "./balancer.ts";
import { selectors, type ServerRef } from "./selector.ts";
import { compileAffinity } from "./affinity.ts";
import "./all.ts";

/** `random(3)` -> { name: "random", arg: "3" }; plain names have no arg. */
export function parseAlgorithm(algorithm: string): { name: string; arg: string | null } {
  const m = /^([a-z_-]+)\((.*)\)$/.exec(algorithm.trim());
  return m ? { name: m[1], arg: m[2] } : { name: algorithm.trim(), arg: null };
}

/**
 * Needs `store.sync(config)` to have run for this backend's configuration. `sessions`: the Wt
 * session table, when on (affinity keeps a draining server's live sessions on it).
 */
export function createBalancer(
  backend: BackendConfig,
  store: StateStore,
  sessions: SessionLookup | null = null,
): Balancer {
  const servers: ServerRef[] = backend.servers.map((config) => {
    const state = store.server(backend.name, config.name);
    if (!state) throw new Error(`no state for server ${backend.name}/${config.name}`);
    return { config, state };
  });
  const { name, arg } = parseAlgorithm(backend.balance.algorithm || "roundrobin");
  const factory = selectors.get(name);
  if (!factory) throw new Error(`backend ${backend.name}: unknown balance algorithm '${name}'`);
  const policy = factory({
    ...backend,
    balance: { algorithm: name, param: arg ?? backend.balance.param },
  });
  const affinity = compileAffinity(backend, servers, sessions, store);
  // Reused per pick (picks are synchronous); selectors must not keep the array.
  const active: ServerRef[] = [];
  const backups: ServerRef[] = [];
  const allBackups = backend.settings.options.allbackups;

  return {
    servers,
    pick(req, exclude) {
      if (affinity) {
        const s = affinity(req, exclude);
        if (s) return s;
      }
      active.length = 0;
      backups.length = 0;
      let backup: ServerRef | undefined;
      for (const s of servers) {
        if (!s.state.usable || exclude?.has(s.state.key)) continue;
        if (!s.config.backup) active.push(s);
        else if (allBackups) backups.push(s);
        else if (!backup) backup = s;
      }
      if (active.length > 0) return policy.pick(active, req);
      if (backups.length > 0) return policy.pick(backups, req);
      return backup;
    },
  };
}
