// The slots of DNS discovery (control plane): which record each fixed server slot holds, how a
// valid answer or a failure changes them (HAProxy's rules, see discovery.ts), the events in
// HAProxy's words, the Wt prefixes derived from names, and the pushes to the data plane.

import type { BackendConfig, ResolversConfig, ServerDns } from "../config/model.ts";
import type { ServerState, StateEvent, StateStore } from "../state.ts";
import { awaitChecks, setResolutionMaint } from "../health/machine.ts";
import type { DnsStatus, Lookup, Resolver } from "./resolver.ts";
import type { AddressSink, DiscoveredAddress } from "./sink.ts";
import { prefixConflict, prefixFromName } from "./prefix.ts";

export interface Slot {
  key: string;
  /** Identity of its record: "target:port" (SRV) or the IP (A/AAAA); null = free. */
  id: string | null;
  addr: DiscoveredAddress | null;
  /** When its record was last missing from a valid answer (for `hold obsolete`). */
  missingSince: number | null;
  /** Last prefix problem reported (reported once). */
  prefixProblem: string | null;
}

export interface Group {
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

export interface Entry {
  id: string;
  name: string;
  host: string;
  port: number;
}

export const REASON: Record<Exclude<DnsStatus, "valid">, string> = {
  nx: "DNS NX status",
  timeout: "DNS timeout status",
  refused: "DNS refused status",
  other: "unspecified DNS error",
};

export function isIp(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || (s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s));
}

/** The slots of every resolution and what changes them. */
export class SlotKeeper {
  /** "backend/server" -> slot; kept across reloads for servers that keep their name. */
  readonly slots = new Map<string, Slot>();

  constructor(
    private readonly store: StateStore,
    private readonly sink: AddressSink,
    private readonly onAddress?: (key: string) => void,
  ) {}

  /** A discovery event (kind "dns") in HAProxy's words. */
  emit(e: Omit<StateEvent, "time" | "kind">): void {
    this.store.emit({ kind: "dns", time: Date.now(), ...e });
  }

  private serverEvent(
    st: ServerState,
    level: StateEvent["level"],
    message: string,
    moved?: StateEvent["moved"],
  ): void {
    this.emit({ key: st.key, backend: st.backend, server: st.name, level, message, moved });
  }

  /** HAProxy's "S changed its IP from A to B by R." line, with the move as data. */
  private movedEvent(
    st: ServerState,
    what: "IP" | "FQDN" | "port",
    from: string | null,
    to: string,
    by: string,
  ): void {
    this.serverEvent(
      st,
      "notice",
      `${st.key} changed its ${what} from ${from ?? "(none)"} to ${to} by ${by}.`,
      { what, from, to },
    );
  }

  // --- prefixes ----------------------------------------------------------------------------

  /** The prefix `slot` may use for `name` (null with an error event when it cannot). */
  prefixFor(g: Group, slot: Slot, name: string): string | null {
    if (!g.dns.prefixFrom) return null;
    const st = this.store.servers.get(slot.key)!;
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
        const other = s.dns?.prefixFrom ? this.slots.get(key)?.addr?.prefix : s.prefix;
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
      if (slot.prefixProblem !== problem) this.serverEvent(st, "err", problem);
      slot.prefixProblem = problem;
      return null;
    }
    slot.prefixProblem = null;
    return p;
  }

  // --- slot changes ------------------------------------------------------------------------

  setAddr(g: Group, slot: Slot, e: Entry, by: string): void {
    const st = this.store.servers.get(slot.key);
    if (!st) return;
    const old = slot.addr;
    if (old && old.host === e.host && old.port === e.port && old.name === e.name) return;
    if (g.dns.srv && old?.name !== e.name) {
      this.movedEvent(st, "FQDN", old?.name ?? null, e.name, "'SRV record'");
    }
    if (old?.host !== e.host) this.movedEvent(st, "IP", old?.host ?? null, e.host, by);
    if (old && old.port !== e.port) this.movedEvent(st, "port", `${old.port}`, `${e.port}`, by);
    const prefix = old?.name === e.name && !slot.prefixProblem
      ? old.prefix
      : this.prefixFor(g, slot, e.name);
    const addr: DiscoveredAddress = { host: e.host, port: e.port, name: e.name, prefix };
    slot.addr = addr;
    slot.id = e.id;
    slot.missingSince = null;
    this.sink.setAddress(slot.key, addr);
    if (st.rmaint) setResolutionMaint(this.store, st, false, e.name);
    else if (old) awaitChecks(this.store, st, `changed its IP from ${old.host} to ${e.host}`);
    if (st.config.check) this.onAddress?.(slot.key);
  }

  clearAddr(slot: Slot, reason: string): void {
    const st = this.store.servers.get(slot.key);
    slot.id = null;
    slot.missingSince = null;
    if (!st) return;
    setResolutionMaint(this.store, st, true, reason);
    if (slot.addr) {
      slot.addr = null;
      this.sink.setAddress(slot.key, null);
    }
  }

  // --- resolutions -------------------------------------------------------------------------

  /** Asks DNS for `g`'s records: A/AAAA addresses, or SRV targets with their addresses (the
   * targets slots hold first, then as many new ones as there are slots). */
  async lookupEntries(g: Group): Promise<Lookup<Entry>> {
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
  }

  /** Gives an answer to `g`'s slots: keep, fill, free (valid), or hold then MAINT (failure). */
  apply(g: Group, r: Lookup<Entry>): void {
    const now = Date.now();
    const b = g.backend.name;
    const prev = g.status;
    g.status = r.status;
    if (r.status !== "valid") {
      const hold = g.resolvers.hold[r.status];
      const kept = g.lastValid !== null && now - g.lastValid < hold;
      if (prev !== r.status) {
        this.emit({
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
        const st = this.store.servers.get(s.key);
        if (s.addr || (st && !st.rmaint)) this.clearAddr(s, REASON[r.status]);
      }
      return;
    }
    if (prev !== "valid" && prev !== "none") {
      this.emit({
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
        this.setAddr(g, s, e, r.by);
        continue;
      }
      s.missingSince ??= now;
      if (now - s.missingSince < g.resolvers.hold.obsolete) {
        taken.add(s.id);
        continue;
      }
      this.clearAddr(s, g.dns.srv ? "entry removed from SRV record" : "No IP for server ");
    }
    const free = g.slots.filter((s) => !s.id);
    for (const e of r.records) {
      if (taken.has(e.id)) continue;
      const s = free.shift();
      if (!s) break;
      taken.add(e.id);
      this.setAddr(g, s, e, r.by);
    }
    // A slot that lost a prefix conflict tries again once the other server is gone.
    for (const s of g.slots) {
      if (s.addr && s.prefixProblem) {
        const p = this.prefixFor(g, s, s.addr.name);
        if (p) {
          s.addr = { ...s.addr, prefix: p };
          this.sink.setAddress(s.key, s.addr);
        }
      }
    }
  }
}
