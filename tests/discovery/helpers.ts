// Discovery test helpers: a resolvers section and server-template slots built by hand, and a
// scripted resolver whose answers a test sets between two refresh() calls.
import type { ResolversConfig, ServerConfig, ServerDns } from "../../src/config/model.ts";
import { RESOLVERS_DEFAULTS } from "../../src/discovery/template.ts";
import { expandTemplate } from "../../src/config/build/dns.ts";
import type { DnsStatus, Lookup, Resolver, SrvRecord } from "../../src/discovery/resolver.ts";
import { loc, server } from "../helpers/config.ts";

export function resolvers(
  nameservers: { host: string; port: number }[],
  extra: Partial<ResolversConfig> = {},
): ResolversConfig {
  return {
    name: "dns",
    nameservers: nameservers.map((n, i) => ({ name: `ns${i + 1}`, ...n, loc })),
    ...RESOLVERS_DEFAULTS,
    loc,
    ...extra,
  };
}

/** `server-template PREFIX COUNT FQDN:PORT resolvers dns init-addr none [check]`. */
export function slots(
  prefix: string,
  count: number,
  fqdn: string,
  port = 0,
  extra: Partial<ServerConfig> = {},
  dns: Partial<ServerDns> = {},
): ServerConfig[] {
  const base = server(prefix, port, {
    address: { host: fqdn, port, wildcard: false, family: "name" },
    addressText: port ? `${fqdn}:${port}` : fqdn,
    ...extra,
    dns: {
      resolvers: "dns",
      fqdn,
      srv: fqdn.startsWith("_"),
      resolvePrefer: "ipv4",
      initAddr: ["none"],
      prefixFrom: null,
      template: { prefix, index: 1, count },
      ...dns,
    },
  });
  return expandTemplate(base, { from: 1, to: count });
}

/** Answers set by the test: name -> addresses or SRV records, or a failure status. */
export class ScriptedResolver implements Resolver {
  readonly a = new Map<string, string[] | DnsStatus>();
  readonly srvs = new Map<string, SrvRecord[] | DnsStatus>();
  queries = 0;

  addresses(name: string): Promise<Lookup<string>> {
    this.queries++;
    const v = this.a.get(name) ?? "nx";
    return Promise.resolve(
      typeof v === "string"
        ? { status: v, records: [], by: "dns" }
        : { status: v.length ? "valid" : "nx", records: v, by: "dns/ns1" },
    );
  }

  srv(name: string): Promise<Lookup<SrvRecord>> {
    this.queries++;
    const v = this.srvs.get(name) ?? "nx";
    return Promise.resolve(
      typeof v === "string"
        ? { status: v, records: [], by: "dns" }
        : { status: v.length ? "valid" : "nx", records: v, by: "dns/ns1" },
    );
  }
}

export function srv(target: string, port: number): SrvRecord {
  return { target, port, priority: 0, weight: 0 };
}
