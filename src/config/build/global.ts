// `global`, log targets, and a proxy's `log:`.
import { FACILITIES, LEVELS } from "../model.ts";
import type { GlobalSection, LogTarget, SrcEntry, SrcNode } from "../model.ts";
import { builtinGlobal } from "../defaults.ts";
import type { Reader } from "./reader.ts";
import { describe } from "./reader.ts";
import { applyRules, GLOBAL_RULES, withRules } from "./rules.ts";
import { GLOBAL_KEYS, LOG_TARGET_KEYS } from "./schema.ts";

export function readGlobal(r: Reader, e: SrcEntry | undefined): GlobalSection {
  const g: GlobalSection = builtinGlobal();
  const m = e ? r.map(e.value, "global") : null;
  const f = m
    ? r.fields(m, withRules(GLOBAL_KEYS, GLOBAL_RULES), "global", "global.")
    : new Map<string, SrcEntry>();
  g.maxconn = r.int(f.get("maxconn"), "global.maxconn", 1, 1_000_000) ?? g.maxconn;
  g.logTag = r.str(f.get("log-tag"), "global.log-tag") ?? g.logTag;
  const log = f.get("log");
  if (log && !(log.value.kind === "scalar" && log.value.value === null)) {
    if (log.value.kind !== "seq") {
      r.error(
        log.value.loc,
        `global.log: expected a list of log targets, got ${describe(log.value)}`,
      );
    } else {
      g.log = log.value.items.flatMap((item, i) => logTarget(r, item, `global.log[${i}]`) ?? []);
    }
  }
  // No syslog target: access lines and events go to stdout (a proxy still opts in with `log: global`).
  if (g.log.length === 0) {
    g.log = [{
      kind: "stdout",
      text: "stdout",
      host: "",
      port: 0,
      path: null,
      facility: "local0",
      level: "debug",
      minLevel: "emerg",
      format: "rfc3164",
      loc: log?.keyLoc ?? e?.keyLoc ?? { file: r.file, line: 1, col: 1 },
    }];
  }
  return applyRules(r, GLOBAL_RULES, f, "global", g);
}

export function logTarget(r: Reader, node: SrcNode, path: string): LogTarget | undefined {
  const m = r.map(node, path);
  if (!m) return undefined;
  const f = r.fields(m, LOG_TARGET_KEYS, path, "");
  const addrEntry = f.get("address");
  const facility = r.oneOf(f.get("facility"), `${path}.facility`, FACILITIES);
  const level = r.oneOf(f.get("level"), `${path}.level`, LEVELS) ?? "debug";
  const minLevel = r.oneOf(f.get("min-level"), `${path}.min-level`, LEVELS) ?? "emerg";
  const format = r.oneOf(f.get("format"), `${path}.format`, ["rfc3164", "json"] as const) ??
    "rfc3164";
  if (!addrEntry) {
    r.error(
      m.loc,
      `${path}: missing "address" (e.g. 127.0.0.1, 127.0.0.1:514, /dev/log or stdout)`,
    );
  }
  if (!f.has("facility")) r.error(m.loc, `${path}: missing "facility" (e.g. local0)`);
  if (LEVELS.indexOf(minLevel) > LEVELS.indexOf(level)) {
    r.error(
      f.get("min-level")!.value.loc,
      `${path}: min-level "${minLevel}" is less severe than level "${level}": no message would be sent`,
    );
  }
  if (!addrEntry || !facility) return undefined;
  const text = r.str(addrEntry, `${path}.address`);
  if (text === undefined) return undefined;
  const base = { text, facility, level, minLevel, format, loc: m.loc };
  if (text === "stdout") return { ...base, kind: "stdout", host: "", port: 0, path: null };
  if (text.startsWith("/")) return { ...base, kind: "unix", host: "", port: 0, path: text };
  const a = r.address(addrEntry.value, `${path}.address`, { defaultPort: 514 });
  if (!a) return undefined;
  if (a.address.wildcard) {
    r.error(
      addrEntry.value.loc,
      `${path}.address: "${text}" is a wildcard; a log target needs the address of a syslog server`,
    );
    return undefined;
  }
  return { ...base, kind: "udp", host: a.address.host, port: a.address.port, path: null };
}

/** `log:` of a proxy: "global", "none"/false, or a list of targets. */
export function proxyLog(
  r: Reader,
  e: SrcEntry,
  path: string,
  global: GlobalSection,
): LogTarget[] | undefined {
  const v = e.value;
  if (v.kind === "scalar") {
    if (v.value === "global") return global.log;
    if (v.value === "none" || v.value === false || v.value === null) return [];
    r.error(
      v.loc,
      `${path}: expected "global", "none" or a list of log targets, got ${describe(v)}`,
    );
    return undefined;
  }
  if (v.kind === "seq") {
    return v.items.flatMap((item, i) => logTarget(r, item, `${path}[${i}]`) ?? []);
  }
  r.error(v.loc, `${path}: expected "global", "none" or a list of log targets, got a map`);
  return undefined;
}
