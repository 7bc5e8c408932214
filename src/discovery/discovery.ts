// DNS discovery in the control plane: every server with `resolvers` (and every server-template
// slot) belongs to a resolution (backend + resolvers + name); each resolution is asked again
// `hold valid` after a valid answer, `timeout resolve` after a failed one. Answers are given
// to the fixed slots: a slot keeps its record while the record stays, new records fill free
// slots in order, a slot whose record went away (after `hold obsolete`) has no address and is
// in MAINT "resolution". A failed resolution keeps the last valid answer for `hold <status>`,
// then its slots go to MAINT with HAProxy's reason ("DNS NX status"...). Addresses reach the
// data plane through the AddressSink; a new address on a checked server is checked before it
// takes traffic. Every transition is a StateEvent worded as HAProxy does.

import type { BackendConfig, Config, ResolversConfig, ServerDns } from "../config/model.ts";
import type { ServerState, StateEvent, StateStore } from "../state.ts";
import { awaitChecks, setResolutionMaint } from "../health/machine.ts";
import {
  dnsResolver,
  type DnsStatus,
  type Lookup,
  type Nameserver,
  parseResolvConf,
  type Resolver,
} from "./resolver.ts";
import type { AddressSink, DiscoveredAddress } from "./sink.ts";
import { prefixConflict, prefixFromName } from "./prefix.ts";

export interface DiscoveryOptions {
  /** The resolver of one `resolvers` section (tests may inject one); default: Deno.resolveDns
   * over its nameservers. `nameservers` empty = the system's configuration (init-addr libc). */
  resolverFor?: (r: ResolversConfig, nameservers: Nameserver[], stop: AbortSignal) => Resolver;
  /** Called when a slot got a new address (the runtime checks it at once). */
  onAddress?: (key: string) => void;
  /** Text of /etc/resolv.conf (`parse-resolv-conf`); default: read the file. */
  resolvConf?: () => string;
}

export interface Discovery {
  /** Follows a new configuration (after `store.sync(config)`); slots keep their addresses. */
  reload(config: Config): Promise<void>;
  /** Resolves every name now and applies the answers (tests; also the first run). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** What a slot holds now (control-plane side). */
interface Slot {
  key: string;
  /** Identity of its record: "target:port" (SRV) or the IP (A/AAAA); null = free. */
  id: string | null;
  addr: DiscoveredAddress | null;
  /** When its record was last missing from a valid answer (for `hold obsolete`). */
  missingSince: number | null;
  /** Last prefix problem reported (reported once). */
  prefixProblem: string | null;
}

interface Group {
  id: string;
  backend: BackendConfig;
  dns: ServerDns;
  /** Port of the server line (A/AAAA records carry none). */
  port: number;
  resolvers: ResolversConfig;
  resolver: Resolver;
  slots: Slot[];
  lastValid: number | null;
  status: DnsStatus | "none";
  timer?: ReturnType<typeof setTimeout>;
  running: Promise<void> | null;
}

interface Entry {
  id: string;
  name: string;
  host: string;
  port: number;
}

const REASON: Record<Exclude<DnsStatus, "valid">, string> = {
  nx: "DNS NX status",
  timeout: "DNS timeout status",
  refused: "DNS refused status",
  other: "unspecified DNS error",
};

function isIp(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || (s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s));
}

export async function startDiscovery(
  config: Config,
  store: StateStore,
  sink: AddressSink,
  opts: DiscoveryOptions = {},
): Promise<Discovery> {
  const stop = new AbortController();
  const slots = new Map<string, Slot>();
  let groups = new Map<string, Group>();
  let stopped = false;
  const readConf = opts.resolvConf ?? (() => {
    try {
      return Deno.readTextFileSync("/etc/resolv.conf");
    } catch {
      return "";
    }
  });
  const makeResolver = opts.resolverFor ??
    ((r: ResolversConfig, ns: Nameserver[], s: AbortSignal) => dnsResolver(r, ns, s));

  const emit = (
    e: Omit<StateEvent, "time" | "kind"> & { kind?: StateEvent["kind"] },
  ) => store.emit({ kind: "dns", time: Date.now(), ...e });
  const serverEvent = (st: ServerState, level: StateEvent["level"], message: string) =>
    emit({ key: st.key, backend: st.backend, server: st.name, level, message });

  // --- prefixes ----------------------------------------------------------------------------

  /** The prefix `slot` may use for `name` (null with an error event when it cannot). */
  const prefixFor = (g: Group, slot: Slot, name: string): string | null => {
    if (!g.dns.prefixFrom) return null;
    const st = store.servers.get(slot.key)!;
    const p = prefixFromName(name);
    let problem: string | null = null;
    if (p === "") {
      problem = `${st.key}: no Wt prefix can be derived from '${name}' ` +
        `(its first label has no letter or digit); its sessions are balanced.`;
    } else {
      const others: [string, string][] = [];
      for (const s of g.backend.servers) {
        const key = `${g.backend.name}/${s.name}`;
        if (key === slot.key) continue;
        const other = s.dns?.prefixFrom ? slots.get(key)?.addr?.prefix : s.prefix;
        if (other) others.push([key, other]);
      }
      const c = prefixConflict(p, others);
      if (c) {
        problem = `${st.key}: Wt prefix '${p}' from '${name}' ` +
          (c.same ? "is the prefix of" : `overlaps prefix '${c.prefix}' of`) +
          ` ${c.server}; ${st.name} gets no prefix and its sessions are balanced: ` +
          `name the servers so that no prefix starts with another.`;
      }
    }
    if (problem) {
      if (slot.prefixProblem !== problem) serverEvent(st, "err", problem);
      slot.prefixProblem = problem;
      return null;
    }
    slot.prefixProblem = null;
    return p;
  };

  // --- slot changes ------------------------------------------------------------------------

  const setAddr = (g: Group, slot: Slot, e: Entry, by: string) => {
    const st = store.servers.get(slot.key);
    if (!st) return;
    const old = slot.addr;
    if (old && old.host === e.host && old.port === e.port && old.name === e.name) return;
    if (g.dns.srv && old?.name !== e.name) {
      serverEvent(
        st,
        "notice",
        `${st.key} changed its FQDN from ${old?.name ?? "(none)"} to ${e.name} by 'SRV record'.`,
      );
    }
    if (old?.host !== e.host) {
      serverEvent(
        st,
        "notice",
        `${st.key} changed its IP from ${old?.host ?? "(none)"} to ${e.host} by ${by}.`,
      );
    }
    if (old && old.port !== e.port) {
      serverEvent(
        st,
        "notice",
        `${st.key} changed its port from ${old.port} to ${e.port} by ${by}.`,
      );
    }
    const prefix = old?.name === e.name && !slot.prefixProblem
      ? old.prefix
      : prefixFor(g, slot, e.name);
    const addr: DiscoveredAddress = { host: e.host, port: e.port, name: e.name, prefix };
    slot.addr = addr;
    slot.id = e.id;
    slot.missingSince = null;
    sink.setAddress(slot.key, addr);
    if (st.rmaint) setResolutionMaint(store, st, false, e.name);
    else if (old) awaitChecks(store, st, `changed its IP from ${old.host} to ${e.host}`);
    if (st.config.check) opts.onAddress?.(slot.key);
  };

  const clearAddr = (slot: Slot, reason: string) => {
    const st = store.servers.get(slot.key);
    slot.id = null;
    slot.missingSince = null;
    if (!st) return;
    setResolutionMaint(store, st, true, reason);
    if (slot.addr) {
      slot.addr = null;
      sink.setAddress(slot.key, null);
    }
  };

  // --- resolutions -------------------------------------------------------------------------

  const lookupEntries = async (g: Group): Promise<Lookup<Entry>> => {
    if (!g.dns.srv) {
      const r = await g.resolver.addresses(g.dns.fqdn, g.dns.resolvePrefer);
      return {
        ...r,
        records: r.records.map((ip) => ({ id: ip, name: g.dns.fqdn, host: ip, port: g.port })),
      };
    }
    const r = await g.resolver.srv(g.dns.fqdn);
    if (r.status !== "valid") return { ...r, records: [] };
    const seen = new Set<string>();
    const held = new Set(g.slots.map((s) => s.id));
    const records = r.records
      .filter((x) => {
        const id = `${x.target}:${x.port}`;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      })
      .sort((a, b) =>
        a.priority - b.priority || b.weight - a.weight || (a.target < b.target ? -1 : 1) ||
        a.port - b.port
      );
    // The records slots hold first, then as many new ones as there are slots.
    const mine = records.filter((x) => held.has(`${x.target}:${x.port}`));
    const rest = records.filter((x) => !held.has(`${x.target}:${x.port}`));
    const wanted = [...mine, ...rest.slice(0, g.slots.length)];
    const found = await Promise.all(
      wanted.map((x) => g.resolver.addresses(x.target, g.dns.resolvePrefer)),
    );
    const entries: Entry[] = [];
    wanted.forEach((x, i) => {
      const id = `${x.target}:${x.port}`;
      const a = found[i];
      const current = g.slots.find((s) => s.id === id)?.addr;
      if (a.status === "valid" && a.records.length > 0) {
        // Keep the current address while the target still has it.
        const host = current && a.records.includes(current.host) ? current.host : a.records[0];
        entries.push({ id, name: x.target, host, port: x.port });
      } else if (a.status !== "nx" && current) {
        // The target's own lookup failed for now: keep what the slot has.
        entries.push({ id, name: x.target, host: current.host, port: x.port });
      }
    });
    return { ...r, records: entries };
  };

  const apply = (g: Group, r: Lookup<Entry>) => {
    const now = Date.now();
    const b = g.backend.name;
    const prev = g.status;
    g.status = r.status;
    if (r.status !== "valid") {
      const hold = g.resolvers.hold[r.status];
      const kept = g.lastValid !== null && now - g.lastValid < hold;
      if (prev !== r.status) {
        emit({
          key: b,
          backend: b,
          server: null,
          level: "warning",
          message: `backend ${b}: resolution of '${g.dns.fqdn}' by resolvers ` +
            `${g.resolvers.name} failed (${REASON[r.status]})` +
            (kept ? `, keeping the last valid answer for ${hold} ms.` : "."),
        });
      }
      if (kept) return;
      for (const s of g.slots) {
        const st = store.servers.get(s.key);
        if (s.addr || (st && !st.rmaint)) clearAddr(s, REASON[r.status]);
      }
      return;
    }
    if (prev !== "valid" && prev !== "none") {
      emit({
        key: b,
        backend: b,
        server: null,
        level: "notice",
        message: `backend ${b}: '${g.dns.fqdn}' resolves again by ${r.by}.`,
      });
    }
    g.lastValid = now;
    const byId = new Map(r.records.map((e) => [e.id, e]));
    const taken = new Set<string>();
    for (const s of g.slots) {
      if (!s.id) continue;
      const e = byId.get(s.id);
      if (e) {
        taken.add(s.id);
        setAddr(g, s, e, r.by);
        continue;
      }
      s.missingSince ??= now;
      if (now - s.missingSince < g.resolvers.hold.obsolete) {
        taken.add(s.id);
        continue;
      }
      clearAddr(s, g.dns.srv ? "entry removed from SRV record" : "No IP for server ");
    }
    const free = g.slots.filter((s) => !s.id);
    for (const e of r.records) {
      if (taken.has(e.id)) continue;
      const s = free.shift();
      if (!s) break;
      taken.add(e.id);
      setAddr(g, s, e, r.by);
    }
    // A slot that lost a prefix conflict tries again once the other server is gone.
    for (const s of g.slots) {
      if (s.addr && s.prefixProblem) {
        const p = prefixFor(g, s, s.addr.name);
        if (p) {
          s.addr = { ...s.addr, prefix: p };
          sink.setAddress(s.key, s.addr);
        }
      }
    }
  };

  const schedule = (g: Group, ms: number) => {
    if (stopped) return;
    clearTimeout(g.timer);
    g.timer = setTimeout(() => run(g), Math.max(0, ms));
  };

  const run = (g: Group): Promise<void> => {
    if (g.running) return g.running;
    clearTimeout(g.timer);
    g.running = (async () => {
      let next = g.resolvers.timeoutResolve;
      try {
        const r = await lookupEntries(g);
        if (stopped || groups.get(g.id) !== g) return;
        apply(g, r);
        if (r.status === "valid") next = g.resolvers.hold.valid;
      } catch (err) {
        // A bug must not stop discovery: say it and try again later.
        console.error(`discovery: ${g.backend.name} '${g.dns.fqdn}': ${err}`);
      }
      g.running = null;
      if (groups.get(g.id) === g) schedule(g, Math.max(next, 10));
    })();
    return g.running;
  };

  // --- configuration -----------------------------------------------------------------------

  const resolversOf = (cfg: Config) => {
    const out = new Map<string, { r: ResolversConfig; resolver: Resolver }>();
    for (const r of cfg.resolvers ?? []) {
      const ns: Nameserver[] = r.nameservers.map((n) => ({
        name: n.name,
        host: n.host,
        port: n.port,
      }));
      if (r.parseResolvConf) ns.push(...parseResolvConf(readConf()));
      out.set(r.name, { r, resolver: makeResolver(r, ns, stop.signal) });
    }
    return out;
  };

  const build = (cfg: Config) => {
    const sections = resolversOf(cfg);
    const next = new Map<string, Group>();
    const keys = new Set<string>();
    for (const b of cfg.backends) {
      for (const s of b.servers) {
        const dns = s.dns;
        if (!dns) continue;
        const sec = sections.get(dns.resolvers);
        if (!sec) continue;
        const key = `${b.name}/${s.name}`;
        keys.add(key);
        const id = `${b.name}|${dns.resolvers}|${dns.fqdn}|${dns.resolvePrefer}|${s.address.port}`;
        let g = next.get(id);
        if (!g) {
          const old = groups.get(id);
          g = {
            id,
            backend: b,
            dns,
            port: s.address.port,
            resolvers: sec.r,
            resolver: sec.resolver,
            slots: [],
            lastValid: old?.lastValid ?? null,
            status: old?.status ?? "none",
            running: null,
          };
          next.set(id, g);
        }
        let slot = slots.get(key);
        if (!slot) {
          slot = { key, id: null, addr: null, missingSince: null, prefixProblem: null };
          slots.set(key, slot);
          const st = store.servers.get(key);
          // "last": a server that keeps its name across a reload keeps its address.
          if (st?.dns) {
            slot.addr = st.dns;
            slot.id = dns.srv ? `${st.dns.name}:${st.dns.port}` : st.dns.host;
          } else if (st) st.rmaint = true; // no address yet: MAINT (resolution), no event
        }
        g.slots.push(slot);
      }
    }
    // Servers no longer discovered get their configured address back.
    for (const [key, slot] of slots) {
      if (keys.has(key)) continue;
      slots.delete(key);
      const st = store.servers.get(key);
      if (st && slot.addr) sink.setAddress(key, null);
      if (st?.rmaint) setResolutionMaint(store, st, false, st.config.addressText);
    }
    return next;
  };

  /** init-addr for slots without an address: last (kept above), libc, an IP, none. */
  const initAddr = async (g: Group) => {
    const empty = g.slots.filter((s) => !s.addr);
    if (empty.length === 0) return;
    let failed = false;
    for (const method of g.dns.initAddr) {
      if (method === "last") continue;
      if (method === "none") return;
      if (method === "libc") {
        if (g.dns.srv) continue;
        const sys = makeResolver(g.resolvers, [], stop.signal);
        const r = await sys.addresses(g.dns.fqdn, g.dns.resolvePrefer);
        if (r.status === "valid" && r.records.length > 0) {
          g.lastValid = Date.now();
          const held = new Set(g.slots.map((s) => s.id));
          const fresh = r.records.filter((ip) => !held.has(ip));
          for (const s of empty) {
            const ip = fresh.shift();
            if (!ip) break;
            setAddr(g, s, { id: ip, name: g.dns.fqdn, host: ip, port: g.port }, "libc");
          }
          return;
        }
        failed = true;
        continue;
      }
      if (isIp(method)) {
        for (const s of empty) {
          setAddr(g, s, { id: method, name: g.dns.fqdn, host: method, port: g.port }, "init-addr");
        }
        return;
      }
    }
    // HAProxy: "could not resolve address" (a method failed) or "no method found".
    const first = g.slots[0]?.key ?? g.backend.name;
    throw new Error(
      `server ${first}: ${failed ? "could not resolve" : "no method found to resolve"} ` +
        `address '${g.dns.fqdn}' (init-addr ${g.dns.initAddr.join(",")}).`,
    );
  };

  groups = build(config);
  try {
    for (const g of groups.values()) await initAddr(g);
  } catch (err) {
    stop.abort();
    throw err;
  }
  for (const g of groups.values()) schedule(g, 0);

  return {
    async reload(cfg) {
      if (stopped) return;
      const old = groups;
      for (const g of old.values()) clearTimeout(g.timer);
      groups = build(cfg);
      for (const g of groups.values()) {
        await initAddr(g).catch((err) =>
          emit({
            key: g.backend.name,
            backend: g.backend.name,
            server: null,
            level: "alert",
            message: String(err instanceof Error ? err.message : err),
          })
        );
        schedule(g, 0);
      }
    },
    async refresh() {
      await Promise.all([...groups.values()].map((g) => run(g)));
    },
    async stop() {
      stopped = true;
      stop.abort();
      const running = [...groups.values()].map((g) => {
        clearTimeout(g.timer);
        return g.running;
      });
      await Promise.allSettled(running);
    },
  };
}
