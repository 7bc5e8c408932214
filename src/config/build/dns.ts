// DNS discovery in the model: the top-level `resolvers` sections, the server keys resolvers /
// resolve-prefer / init-addr / prefix-from, `template: N` (HAProxy's server-template), SRV
// names as addresses, and the expansion of a template into its fixed slots.
import type { Loc, ResolversConfig, ServerConfig, ServerDns, SrcEntry } from "../model.ts";
import { AddressError, parseAddress } from "../address.ts";
import { DEFAULT_INIT_ADDR, isSrvName, RESOLVERS_DEFAULTS } from "../../discovery/template.ts";
import type { Reader } from "./reader.ts";

export const RESOLVERS_KEYS = [
  "nameservers",
  "parse-resolv-conf",
  "hold",
  "resolve_retries",
  "timeouts",
  "accepted_payload_size",
];
const HOLD_KEYS = ["valid", "nx", "timeout", "refused", "other", "obsolete"] as const;

/** Most slots one template may have (each is a server with its own state and checks). */
export const MAX_TEMPLATE = 1024;

export function readResolvers(r: Reader, e: SrcEntry | undefined): ResolversConfig[] {
  if (!e) return [];
  const out: ResolversConfig[] = [];
  for (const s of r.named(e.value, "resolvers", "resolvers")) {
    r.checkName(s, "resolvers");
    const path = `resolvers.${s.key}`;
    const m = r.map(s.value, path);
    if (!m) continue;
    const f = r.fields(m, RESOLVERS_KEYS, `resolvers '${s.key}'`, `${path}.`);
    const cfg: ResolversConfig = {
      name: s.key,
      nameservers: [],
      ...structuredClone(RESOLVERS_DEFAULTS),
      loc: s.keyLoc,
    };
    const ns = f.get("nameservers");
    if (ns) {
      for (const n of r.named(ns.value, "nameserver", `${path}.nameservers`)) {
        r.checkName(n, "nameserver");
        const text = r.str(n, `${path}.nameservers.${n.key}`);
        if (text === undefined) continue;
        try {
          // Port 53 when none is given, as HAProxy.
          const hasPort = /^\[.*\]:\d+$/.test(text) || /^[^:]+:\d+$/.test(text);
          const a = parseAddress(
            hasPort ? text : text.includes(":") ? `[${text}]:53` : `${text}:53`,
          );
          if (a.family !== "ipv4" && a.family !== "ipv6") {
            r.error(n.value.loc, `${path}.nameservers.${n.key}: "${text}" is not an IP address`);
            continue;
          }
          cfg.nameservers.push({ name: n.key, host: a.host, port: a.port, loc: n.keyLoc });
        } catch (err) {
          if (!(err instanceof AddressError)) throw err;
          r.error(n.value.loc, `${path}.nameservers.${n.key}: ${err.message}`);
        }
      }
    }
    cfg.parseResolvConf = r.bool(f.get("parse-resolv-conf"), `${path}.parse-resolv-conf`) ??
      false;
    if (cfg.nameservers.length === 0 && !cfg.parseResolvConf) {
      r.error(
        s.keyLoc,
        `resolvers '${s.key}' has no nameserver (add nameservers: { ns1: IP:PORT } or ` +
          `parse-resolv-conf: true)`,
      );
    }
    const hold = f.get("hold");
    const hm = hold ? r.map(hold.value, `${path}.hold`) : null;
    if (hm) {
      const hf = r.fields(hm, [...HOLD_KEYS], `${path}.hold`, `${path}.hold.`);
      for (const k of HOLD_KEYS) {
        const v = r.duration(hf.get(k), `${path}.hold.${k}`);
        if (v !== undefined) cfg.hold[k] = v;
      }
    }
    const t = f.get("timeouts");
    const tm = t ? r.map(t.value, `${path}.timeouts`) : null;
    if (tm) {
      const tf = r.fields(tm, ["resolve", "retry"], `${path}.timeouts`, `${path}.timeouts.`);
      cfg.timeoutResolve = r.positiveDuration(tf.get("resolve"), `${path}.timeouts.resolve`) ??
        cfg.timeoutResolve;
      cfg.timeoutRetry = r.positiveDuration(tf.get("retry"), `${path}.timeouts.retry`) ??
        cfg.timeoutRetry;
    }
    cfg.resolveRetries = r.int(f.get("resolve_retries"), `${path}.resolve_retries`, 1, 100) ??
      cfg.resolveRetries;
    const aps = f.get("accepted_payload_size");
    const size = r.int(aps, `${path}.accepted_payload_size`, 512, 65535);
    if (size !== undefined) {
      cfg.acceptedPayloadSize = size;
      r.warn(
        aps!.keyLoc,
        `${path}.accepted_payload_size has no effect: Deno's resolver chooses its own EDNS ` +
          `size and asks again over TCP when an answer is truncated`,
      );
    }
    out.push(cfg);
  }
  return out;
}

/** The DNS keys a server, default-server or defaults.default-server may set. */
export interface DnsPatch {
  resolvers?: string;
  resolversLoc?: Loc;
  resolvePrefer?: "ipv4" | "ipv6";
  initAddr?: string[];
  prefixFrom?: "dns-label";
  prefixFromLoc?: Loc;
}

export const DNS_SERVER_KEYS = ["resolvers", "resolve-prefer", "init-addr", "prefix-from"];

const IP = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/;

export function dnsPatch(r: Reader, f: Map<string, SrcEntry>, path: string): DnsPatch {
  const p: DnsPatch = {};
  const res = f.get("resolvers");
  p.resolvers = r.str(res, `${path}.resolvers`);
  if (res) p.resolversLoc = res.value.loc;
  p.resolvePrefer = r.oneOf(
    f.get("resolve-prefer"),
    `${path}.resolve-prefer`,
    [
      "ipv4",
      "ipv6",
    ] as const,
  );
  const ia = f.get("init-addr");
  const iaText = r.str(ia, `${path}.init-addr`);
  if (iaText !== undefined) {
    const methods = iaText.split(",").map((x) => x.trim());
    const bad = methods.find((m) => !["last", "libc", "none"].includes(m) && !IP.test(m));
    if (bad !== undefined) {
      r.error(
        ia!.value.loc,
        `${path}.init-addr: unknown method "${bad}" (expected last, libc, none or an IP ` +
          `address, comma-separated)`,
      );
    } else p.initAddr = methods;
  }
  const pf = f.get("prefix-from");
  p.prefixFrom = r.oneOf(pf, `${path}.prefix-from`, ["dns-label"] as const);
  if (pf) p.prefixFromLoc = pf.value.loc;
  for (const k of Object.keys(p) as (keyof DnsPatch)[]) if (p[k] === undefined) delete p[k];
  return p;
}

/**
 * The server's `dns` from its effective keys, or null for a fixed address. `host` is the
 * address's host (a name, or an SRV name); `template` its slot count when it is a template.
 */
export function serverDns(
  r: Reader,
  path: string,
  eff: DnsPatch,
  host: { name: string; isIp: boolean; loc: Loc },
  template: { count: number } | null,
  hasPrefix: boolean,
): ServerDns | null {
  const srv = isSrvName(host.name);
  if (!eff.resolvers) {
    if (template || srv) {
      r.error(
        host.loc,
        `${path}: ${template ? "a server template" : "an SRV name"} needs \`resolvers\` ` +
          `(the DNS servers that follow it)`,
      );
    }
    if (eff.prefixFrom) {
      r.error(eff.prefixFromLoc!, `${path}.prefix-from needs \`resolvers\` (a DNS name)`);
    }
    return null;
  }
  if (host.isIp) {
    if (template) r.error(host.loc, `${path}: a server template needs a DNS name, not an IP`);
    if (eff.prefixFrom) {
      r.error(eff.prefixFromLoc!, `${path}.prefix-from needs a DNS name, not an IP`);
    }
    return null; // HAProxy resolves nothing for an IP address either
  }
  if (eff.prefixFrom && hasPrefix) {
    r.error(eff.prefixFromLoc!, `${path}: give either prefix or prefix-from, not both`);
  }
  return {
    resolvers: eff.resolvers,
    fqdn: host.name.toLowerCase(),
    srv,
    resolvePrefer: eff.resolvePrefer ?? "ipv6",
    initAddr: eff.initAddr ?? DEFAULT_INIT_ADDR,
    prefixFrom: eff.prefixFrom ?? null,
    template: template ? { prefix: "", index: 0, count: template.count } : null,
    resolversLoc: eff.resolversLoc,
  };
}

/** `template: 3` (slots 1..3) or `template: "2-4"`: the slot numbers, or null after an error. */
export function templateRange(
  r: Reader,
  e: SrcEntry,
  path: string,
): { from: number; to: number } | null {
  const v = e.value.kind === "scalar" ? e.value.value : null;
  let from = 1;
  let to = NaN;
  if (typeof v === "number") to = v;
  else if (typeof v === "string") {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(v);
    if (m && m[2] !== undefined) [from, to] = [Number(m[1]), Number(m[2])];
    else if (m) to = Number(m[1]);
  }
  if (!Number.isInteger(to) || from < 1 || to < from || to - from + 1 > MAX_TEMPLATE) {
    r.error(
      e.value.loc,
      `${path}: expected a number of servers (1..${MAX_TEMPLATE}) or a range such as "1-5"`,
    );
    return null;
  }
  return { from, to };
}

/** The slots PREFIX<from>..PREFIX<to> of a template server. */
export function expandTemplate(
  s: ServerConfig,
  range: { from: number; to: number },
): ServerConfig[] {
  const out: ServerConfig[] = [];
  const count = range.to - range.from + 1;
  for (let i = range.from; i <= range.to; i++) {
    out.push({
      ...s,
      name: `${s.name}${i}`,
      dns: { ...s.dns!, template: { prefix: s.name, index: i, count } },
    });
  }
  return out;
}

/** Servers naming a `resolvers` section that does not exist. */
export function checkResolversNames(
  r: Reader,
  resolvers: ResolversConfig[],
  backends: { name: string; servers: ServerConfig[] }[],
): void {
  const names = new Set(resolvers.map((x) => x.name));
  const told = new Set<string>();
  for (const b of backends) {
    for (const s of b.servers) {
      const d = s.dns;
      if (!d || names.has(d.resolvers)) continue;
      const where = d.template ? `${b.name}/${d.template.prefix}` : `${b.name}/${s.name}`;
      if (told.has(where)) continue;
      told.add(where);
      r.error(
        d.resolversLoc ?? s.loc,
        `server '${where}': unable to find required resolvers '${d.resolvers}'.`,
      );
    }
  }
}
