// The one interface from DNS discovery (control plane) to the data plane: a server slot's
// address changed. At nbthread 1 the local sink is called directly; with data-plane workers
// the same call is carried to every worker, which applies it with its own local sink.

import type { ServerConfig } from "../config/model.ts";
import type { Pool } from "../upstream/pool.ts";
import type { StateStore } from "../state.ts";

/** What DNS discovery found for one server slot. */
export interface DiscoveredAddress {
  /** An IP address literal (IPv6 without brackets). */
  host: string;
  port: number;
  /** The DNS name it came from: the SRV target, or the server's own name. */
  name: string;
  /** Wt session-id prefix derived from `name` (`prefix-from`); null when none or in conflict. */
  prefix: string | null;
}

export interface AddressSink {
  /** `key` is "backend/server"; null: the slot has no address (MAINT "resolution"). */
  setAddress(key: string, addr: DiscoveredAddress | null): void;
}

/** The data plane of this thread: the server's state carries the address; idle pooled
 * connections to the old address are closed (requests in flight finish where they are). */
export function localAddressSink(store: StateStore, pool: Pool | null): AddressSink {
  return {
    setAddress(key, addr) {
      const st = store.servers.get(key);
      if (!st) return;
      const old = st.dns;
      if (old && pool) pool.discard(poolKey(key, old));
      if ((old?.prefix ?? null) !== (addr?.prefix ?? null)) store.prefixVersion++;
      st.dns = addr ? { ...addr } : null;
    },
  };
}

/** Pool key of a discovered address: server identity plus address, as for fixed servers. */
export function poolKey(serverKey: string, a: DiscoveredAddress): string {
  return `${serverKey}@${a.host}:${a.port}`;
}

const targets = new WeakMap<DiscoveredAddress, { from: ServerConfig; t: ServerConfig }>();

/** The server as its health checks see it: its configuration with the discovered address. */
export function withAddress(config: ServerConfig, a: DiscoveredAddress): ServerConfig {
  const cached = targets.get(a);
  if (cached?.from === config) return cached.t;
  const family = a.host.includes(":") ? "ipv6" : "ipv4";
  const t: ServerConfig = {
    ...config,
    address: { host: a.host, port: a.port, wildcard: false, family },
    addressText: addressText(a),
  };
  targets.set(a, { from: config, t });
  return t;
}

/** `10.0.0.5:8080`, `[fd00::5]:8080`. */
export function addressText(a: { host: string; port: number }): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
