// `resolvers` defaults (HAProxy 2.6's) and `server-template PREFIX NUM FQDN[:PORT]`
// expansion into fixed server slots PREFIX1..PREFIXNUM, shared by both configuration readers.

import type { Address, ResolversConfig, ServerConfig, ServerDns } from "../config/model.ts";

/** HAProxy's values for a `resolvers` section that says nothing. */
export const RESOLVERS_DEFAULTS: Omit<ResolversConfig, "name" | "nameservers" | "loc"> = {
  parseResolvConf: false,
  hold: { valid: 10000, nx: 30000, timeout: 30000, refused: 30000, other: 30000, obsolete: 0 },
  resolveRetries: 3,
  timeoutResolve: 1000,
  timeoutRetry: 1000,
  acceptedPayloadSize: 512,
};

/** HAProxy's default `init-addr` for a server with `resolvers`: never fails at start. */
export const DEFAULT_INIT_ADDR = ["last", "libc", "none"];

/** An SRV name: `_service._proto.name` (HAProxy tells SRV names by the leading underscore). */
export function isSrvName(fqdn: string): boolean {
  return fqdn.startsWith("_");
}

/**
 * The slots of `server-template PREFIX NUM FQDN[:PORT]`: servers PREFIX1..PREFIXNUM sharing
 * `base` (keywords of the line) and resolving FQDN. An SRV name needs no port (SRV gives it).
 */
export function templateServers(
  prefix: string,
  count: number,
  fqdn: string,
  port: number,
  base: Omit<ServerConfig, "name" | "address" | "addressText" | "dns">,
  dns: Omit<ServerDns, "fqdn" | "srv" | "template">,
): ServerConfig[] {
  const address: Address = { host: fqdn, port, wildcard: false, family: "name" };
  const out: ServerConfig[] = [];
  for (let i = 1; i <= count; i++) {
    out.push({
      ...base,
      name: `${prefix}${i}`,
      address,
      addressText: port ? `${fqdn}:${port}` : fqdn,
      dns: { ...dns, fqdn, srv: isSrvName(fqdn), template: { prefix, index: i, count } },
    });
  }
  return out;
}
