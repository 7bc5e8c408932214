// `stats:` in a frontend or backend (HAProxy's `stats enable|uri|auth|realm|refresh|admin|
// hide-version|show-legends|show-node|show-desc` lines): the stats page on the proxy's own
// listeners. `stats: true` enables it with HAProxy's defaults (uri /haproxy?stats).
import type { BackendConfig, FrontendConfig, SrcEntry, StatsConfig } from "../model.ts";
import { compileCondition } from "../../acl/condition.ts";
import type { Problem } from "../../acl/words.ts";
import type { Reader } from "./reader.ts";
import type { SectionRule } from "./rules.ts";

export const STATS_KEYS = [
  "enable",
  "uri",
  "auth",
  "realm",
  "refresh",
  "admin",
  "hide-version",
  "show-legends",
  "show-node",
  "show-desc",
];

export function readStats(
  r: Reader,
  f: Map<string, SrcEntry>,
  path: string,
): StatsConfig | null | undefined {
  const e = f.get("stats");
  if (!e) return undefined;
  const where = `${path}.stats`;
  const out: StatsConfig = {
    uri: "/haproxy?stats",
    auth: [],
    realm: "HAProxy Statistics",
    refresh: null,
    admin: null,
    hideVersion: false,
    showLegends: false,
    node: null,
    desc: null,
    loc: e.keyLoc,
  };
  if (e.value.kind === "scalar" && typeof e.value.value === "boolean") {
    return e.value.value ? out : null;
  }
  const m = r.map(e.value, where);
  if (!m) return undefined;
  const sf = r.fields(m, STATS_KEYS, where, `${where}.`);
  if (r.bool(sf.get("enable"), `${where}.enable`) === false) return null;
  const uri = r.str(sf.get("uri"), `${where}.uri`);
  if (uri !== undefined) out.uri = uri;
  const authE = sf.get("auth");
  if (authE) {
    const items = authE.value.kind === "seq" ? authE.value.items : [authE.value];
    for (const it of items) {
      const text = it.kind === "scalar" ? String(it.value) : "";
      const colon = text.indexOf(":");
      if (colon <= 0) {
        r.error(it.loc, `'stats auth' : missing user:password in '${text}'`);
        continue;
      }
      out.auth.push({ user: text.slice(0, colon), password: text.slice(colon + 1) });
    }
  }
  out.realm = r.str(sf.get("realm"), `${where}.realm`) ?? out.realm;
  out.refresh = r.positiveDuration(sf.get("refresh"), `${where}.refresh`) ?? null;
  const adminE = sf.get("admin");
  const admin = r.str(adminE, `${where}.admin`);
  if (admin !== undefined) {
    const m2 = /^(if|unless)\s+(.*)$/s.exec(admin);
    if (!m2) {
      r.error(
        adminE!.value.loc,
        `'stats admin' requires either 'if' or 'unless' followed by a condition.`,
      );
    } else {
      const loc = adminE!.value.loc;
      const condLoc = { ...loc, col: loc.col + admin.indexOf(m2[2]) };
      const problems: Problem[] = [];
      compileCondition(m2[2], new Map(), {}, problems);
      for (const p of problems) {
        const at = { ...condLoc, col: condLoc.col + p.offset };
        if (p.severity === "error") r.error(at, `stats admin ${m2[1]}: ${p.message}`);
        else r.warn(at, `stats admin ${m2[1]}: ${p.message}`);
      }
      out.admin = { polarity: m2[1] as "if" | "unless", condition: m2[2], loc: condLoc };
    }
  }
  out.hideVersion = r.bool(sf.get("hide-version"), `${where}.hide-version`) ?? false;
  out.showLegends = r.bool(sf.get("show-legends"), `${where}.show-legends`) ?? false;
  // `show-node` alone (or `true`) shows the host name; `show-desc` alone shows nothing extra.
  const text = (k: string): string | null => {
    const v = sf.get(k)?.value;
    if (!v) return null;
    if (v.kind === "scalar" && (v.value === true || v.value === null)) return "";
    if (v.kind === "scalar" && (typeof v.value === "string" || typeof v.value === "number")) {
      return String(v.value);
    }
    r.error(v.loc, `${where}.${k}: expected a name or true`);
    return null;
  };
  out.node = text("show-node");
  out.desc = text("show-desc") || null;
  return out;
}

export const FRONTEND_STATS: SectionRule<FrontendConfig> = {
  keys: ["stats"],
  read(r, f, path, out) {
    const s = readStats(r, f, path);
    if (s !== undefined) out.stats = s;
  },
};

export const BACKEND_STATS: SectionRule<BackendConfig> = {
  keys: ["stats"],
  read(r, f, path, out) {
    const s = readStats(r, f, path);
    if (s !== undefined) out.stats = s;
  },
};
