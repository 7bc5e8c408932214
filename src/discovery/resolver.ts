// DNS lookups for discovery, over Deno.resolveDns with the `resolvers` section's nameservers.
// Every nameserver is asked at once and the first valid answer wins (HAProxy sends each query
// to all of them); an attempt that gets no answer within `timeout retry` is sent again, up to
// `resolve_retries` attempts, then the status is "timeout".
//
// What Deno's resolver lets us see: an answer with records, "no records found" (NXDOMAIN, an
// empty NOERROR answer, and also REFUSED and SERVFAIL: Deno reports them alike, so they all
// count as "nx"), and no usable answer in time (a silent nameserver, or one sending garbage,
// which the resolver drops): "timeout". Anything else is "other".

import type { ResolversConfig } from "../config/model.ts";

export type DnsStatus = "valid" | "nx" | "timeout" | "refused" | "other";

export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

export interface Lookup<T> {
  status: DnsStatus;
  records: T[];
  /** "resolvers/nameserver" that gave the answer (for "changed its IP ... by"). */
  by: string;
}

/** The resolver interface the discovery engine uses (tests may give their own). */
export interface Resolver {
  /** IPv4 then IPv6 (or the reverse) addresses of `name`: the preferred family first, the other
   * only when the preferred one has none. */
  addresses(name: string, prefer: "ipv4" | "ipv6"): Promise<Lookup<string>>;
  srv(name: string): Promise<Lookup<SrvRecord>>;
}

export interface Nameserver {
  name: string;
  host: string;
  port: number;
}

/** At most this many records of one answer are looked at (a huge answer costs nothing more). */
export const MAX_RECORDS = 256;

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;
const NAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*$/;

/** A DNS name as written in an answer, without its final dot; null when it is not a host name. */
export function cleanName(name: string): string | null {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  return n.length > 0 && n.length <= 253 && NAME.test(n) ? n.toLowerCase() : null;
}

/** Nameservers of /etc/resolv.conf text (`parse-resolv-conf`), port 53. */
export function parseResolvConf(text: string): Nameserver[] {
  const out: Nameserver[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1].replace(/%.*$/, "");
    if (IPV4.test(host) || (host.includes(":") && IPV6.test(host))) {
      out.push({ name: `resolvconf${out.length + 1}`, host, port: 53 });
    }
  }
  return out;
}

type RecordType = "A" | "AAAA" | "SRV";
type Answer = { status: DnsStatus; records: unknown[]; ns: Nameserver | null };

/** One query to one nameserver, bounded by `ms`. */
async function ask(
  ns: Nameserver | null,
  name: string,
  type: RecordType,
  ms: number,
  stop: AbortSignal,
): Promise<{ status: DnsStatus; records: unknown[] }> {
  const signal = AbortSignal.any([AbortSignal.timeout(Math.max(1, ms)), stop]);
  try {
    const opts: Deno.ResolveDnsOptions = { signal };
    if (ns) opts.nameServer = { ipAddr: ns.host, port: ns.port };
    const records = await Deno.resolveDns(name, type as "A", opts) as unknown[];
    return { status: "valid", records: records.slice(0, MAX_RECORDS) };
  } catch (err) {
    const e = err as { name?: string };
    if (e?.name === "NotFound") return { status: "nx", records: [] };
    if (signal.aborted || e?.name === "TimedOut") return { status: "timeout", records: [] };
    if (e?.name === "ConnectionRefused") return { status: "refused", records: [] };
    return { status: "other", records: [] };
  }
}

/** Worst to best: the status reported when no nameserver gave a valid answer. */
const RANK: Record<DnsStatus, number> = { timeout: 0, other: 1, refused: 2, nx: 3, valid: 4 };

/**
 * A Resolver over `nameservers` (none: the system's configuration, as for `init-addr libc`),
 * with the section's retries and timeouts. `stop` aborts every query in flight.
 */
export function dnsResolver(
  cfg: Pick<ResolversConfig, "name" | "resolveRetries" | "timeoutRetry">,
  nameservers: Nameserver[],
  stop: AbortSignal,
): Resolver {
  const query = async (name: string, type: RecordType): Promise<Lookup<unknown>> => {
    const targets: (Nameserver | null)[] = nameservers.length > 0 ? nameservers : [null];
    let worst: DnsStatus = "timeout";
    const attempts = Math.max(1, cfg.resolveRetries);
    for (let i = 0; i < attempts && !stop.aborted; i++) {
      const answers = targets.map((ns) =>
        ask(ns, name, type, cfg.timeoutRetry, stop).then((a) => ({ ...a, ns }))
      );
      // The first valid answer wins; otherwise the best of the failures.
      const valid = await new Promise<Answer | null>((resolve) => {
        let left = answers.length;
        for (const p of answers) {
          p.then((a) => {
            if (a.status === "valid") resolve(a);
            else if (--left === 0) resolve(null);
            if (RANK[a.status] > RANK[worst]) worst = a.status;
          });
        }
      });
      if (valid) {
        return {
          status: "valid",
          records: valid.records,
          by: `${cfg.name}/${valid.ns?.name ?? "libc"}`,
        };
      }
      if (worst !== "timeout") break; // an answer came: asking again changes nothing
    }
    return { status: worst, records: [], by: cfg.name };
  };

  const addressesOf = async (name: string, type: "A" | "AAAA") => {
    const r = await query(name, type);
    const records = (r.records as unknown[]).filter((a): a is string =>
      typeof a === "string" && (type === "A" ? IPV4.test(a) : a.includes(":") && IPV6.test(a))
    );
    return { ...r, records: [...new Set(records)] };
  };

  return {
    async addresses(name, prefer) {
      const [first, second]: ("A" | "AAAA")[] = prefer === "ipv4" ? ["A", "AAAA"] : ["AAAA", "A"];
      const a = await addressesOf(name, first);
      if (a.status === "valid" && a.records.length > 0) return a;
      if (a.status !== "valid" && a.status !== "nx") return a;
      const b = await addressesOf(name, second);
      if (b.status === "valid" && b.records.length === 0) return { ...b, status: "nx" };
      return b.status === "valid" ? b : a.status === "valid" ? { ...a, status: "nx" } : b;
    },
    async srv(name) {
      const r = await query(name, "SRV");
      const records: SrvRecord[] = [];
      for (const x of r.records as Deno.SrvRecord[]) {
        if (!x || typeof x !== "object") continue;
        const target = typeof x.target === "string" ? cleanName(x.target) : null;
        // Port 0 or target "." means "no service here" (RFC 2782).
        if (!target || !Number.isInteger(x.port) || x.port < 1 || x.port > 65535) continue;
        records.push({ target, port: x.port, priority: x.priority, weight: x.weight });
      }
      if (r.status === "valid" && records.length === 0) return { ...r, records, status: "nx" };
      return { ...r, records };
    },
  };
}
