// Hashing for the hash-based policies (source, uri, url_param): HAProxy's default sdbm,
// followed by an avalanche step so neighbouring keys (10.0.0.1, 10.0.0.2) spread well.
import type { ServerRef } from "./selector.ts";

export function sdbm(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (s.charCodeAt(i) + (h << 6) + (h << 16) - h) >>> 0;
  // murmur3's fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Maps a hash onto the servers in proportion to their weights (HAProxy's map-based hashing). */
export function byWeight(servers: readonly ServerRef[], hash: number): ServerRef {
  let total = 0;
  for (const s of servers) total += s.state.weight;
  let x = hash % total;
  for (const s of servers) {
    x -= s.state.weight;
    if (x < 0) return s;
  }
  return servers[servers.length - 1];
}
