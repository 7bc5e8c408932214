// `resolvers` defaults (HAProxy 2.6's) and how an SRV name is told from a host name, shared by
// the configuration builder and the discovery engine.

import type { ResolversConfig } from "../config/model.ts";

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
