// DNS discovery in the control plane: every server with `resolvers` (and every server-template
// slot) belongs to a resolution (backend + resolvers + name); each resolution is asked again
// `hold valid` after a valid answer, `timeout resolve` after a failed one. Answers are given
// to the fixed slots: a slot keeps its record while the record stays, new records fill free
// slots in order, a slot whose record went away (after `hold obsolete`) has no address and is
// in MAINT "resolution". A failed resolution keeps the last valid answer for `hold <status>`,
// then its slots go to MAINT with HAProxy's reason ("DNS NX status"...). Addresses reach the
// data plane through the AddressSink; a new address on a checked server is checked before it
// takes traffic. Every transition is a StateEvent worded as HAProxy does.

import type { Config, ResolversConfig } from "../config/model.ts";
import type { StateStore } from "../state.ts";
import { setResolutionMaint } from "../health/machine.ts";
import { dnsResolver, type Nameserver, parseResolvConf, type Resolver } from "./resolver.ts";
import type { AddressSink } from "./sink.ts";
import { type Group, isIp, SlotKeeper } from "./slots.ts";

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

export async function startDiscovery(
  config: Config,
  store: StateStore,
  sink: AddressSink,
  opts: DiscoveryOptions = {},
): Promise<Discovery> {
  const stop = new AbortController();
  const keeper = new SlotKeeper(store, sink, opts.onAddress);
  const slots = keeper.slots;
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
        const r = await keeper.lookupEntries(g);
        if (stopped || groups.get(g.id) !== g) return;
        keeper.apply(g, r);
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
            keeper.setAddr(g, s, { id: ip, name: g.dns.fqdn, host: ip, port: g.port }, "libc");
          }
          return;
        }
        failed = true;
        continue;
      }
      if (isIp(method)) {
        for (const s of empty) {
          keeper.setAddr(
            g,
            s,
            { id: method, name: g.dns.fqdn, host: method, port: g.port },
            "init-addr",
          );
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
          keeper.emit({
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
