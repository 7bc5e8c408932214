// The collected records -> the YAML-schema tree. Several `defaults` sections: the first one
// becomes the YAML `defaults`; every proxy then carries, on top of its own lines, the settings
// where its `defaults` differs from the first, so that cfg -> tree -> model and
// cfg -> YAML -> model give the same model.
import type { Loc, SrcEntry, SrcMap, SrcNode, SrcScalar, SrcSeq } from "../model.ts";
import { BUILTIN_INTER, BUILTIN_MAXCONN, BUILTIN_RETRIES, BUILTIN_SERVER } from "../defaults.ts";
import { errorfilesEntry } from "./families/errors.ts";
import type { Cfg, DefaultsSec, LogItem, ProxyRec, ServerRec, Setting } from "./context.ts";

/** HAProxy's server values when nothing is said (used to undo a `defaults` setting in a proxy). */
const SERVER_BUILTIN: Readonly<Record<string, string | number | boolean | null>> = BUILTIN_SERVER;

export function emit(c: Cfg): SrcMap {
  const root: SrcMap = { kind: "map", entries: [], loc: c.loc(1, 1) };
  if (c.headComment.length) root.comment = c.headComment.join("\n");

  // global
  const gEntries = [...c.globalEntries];
  if (c.globalLog.length) {
    gEntries.push({
      key: "log",
      keyLoc: c.globalLogKeyLoc!,
      value: { kind: "seq", items: c.globalLog, loc: c.globalLog[0].loc },
    });
  }
  if (c.globalLoc) {
    root.entries.push({
      key: "global",
      keyLoc: c.globalLoc,
      value: { kind: "map", entries: gEntries, loc: c.globalLoc },
      comment: c.globalComment,
    });
  }

  // defaults: the first section
  const d1 = c.defaultsList[0] ?? null;
  if (d1) {
    const keys = [...d1.settings.keys()].filter((k) => YAML_DEFAULTABLE(k));
    const entries = settingsEntries(keys.map((k) => [k, d1.settings.get(k)!] as const));
    if (d1.logSet) {
      entries.splice(modeIndex(entries), 0, {
        key: "log",
        keyLoc: d1.logKeyLoc ?? d1.loc,
        value: logNode(c, d1.log, d1.logKeyLoc ?? d1.loc),
      });
    }
    root.entries.push({
      key: "defaults",
      keyLoc: d1.loc,
      value: { kind: "map", entries, loc: d1.loc },
      comment: d1.comment,
    });
  }

  const frontends: SrcEntry[] = [];
  const backends: SrcEntry[] = [];
  for (const p of c.proxies) {
    const hasFront = p.type === "frontend"
      ? p.binds.length > 0
      : p.type === "listen" && p.binds.length > 0;
    const hasBack = p.type !== "frontend";
    if (hasFront) frontends.push(proxyEntry(c, p, "fe", d1));
    if (hasBack) backends.push(proxyEntry(c, p, "be", d1));
  }
  if (frontends.length) {
    root.entries.push({
      key: "frontends",
      keyLoc: frontends[0].keyLoc,
      value: { kind: "map", entries: frontends, loc: frontends[0].keyLoc },
    });
  }
  if (backends.length) {
    root.entries.push({
      key: "backends",
      keyLoc: backends[0].keyLoc,
      value: { kind: "map", entries: backends, loc: backends[0].keyLoc },
    });
  }
  if (c.resolvers.length) {
    const list: SrcEntry[] = c.resolvers.map((rec) => ({
      key: rec.name,
      keyLoc: rec.nameLoc,
      comment: rec.comment,
      value: { kind: "map", entries: [...rec.entries.values()], loc: rec.nameLoc },
    }));
    root.entries.push({
      key: "resolvers",
      keyLoc: c.resolvers[0].keyLoc,
      value: { kind: "map", entries: list, loc: c.resolvers[0].keyLoc },
    });
  }
  if (c.pending.length) {
    // comments after the last directive: keep them with the last top-level entry
    const last = root.entries[root.entries.length - 1];
    if (last) {
      const target = last.value.kind === "map" && last.value.entries.length
        ? last.value.entries[last.value.entries.length - 1]
        : last;
      target.value.comment = [target.value.comment, ...c.pending.map((x) => x.text)]
        .filter(Boolean).join("\n");
    } else {
      root.comment = [root.comment, ...c.pending.map((x) => x.text)].filter(Boolean)
        .join("\n");
    }
  }
  return root;
}

export function modeIndex(entries: SrcEntry[]): number {
  const i = entries.findIndex((x) => x.key === "mode");
  return i < 0 ? 0 : i + 1;
}

/** Groups dotted settings into the schema's nested maps, keeping first-seen order. */
export function settingsEntries(list: readonly (readonly [string, Setting])[]): SrcEntry[] {
  const out: SrcEntry[] = [];
  const groups = new Map<string, SrcEntry>();
  for (const [key, s] of list) {
    const dot = key.indexOf(".");
    if (dot < 0) {
      out.push({ key, keyLoc: s.keyLoc, value: s.node, comment: s.comment });
      continue;
    }
    const group = key.slice(0, dot);
    let g = groups.get(group);
    if (!g) {
      g = { key: group, keyLoc: s.keyLoc, value: { kind: "map", entries: [], loc: s.keyLoc } };
      groups.set(group, g);
      out.push(g);
    }
    (g.value as SrcMap).entries.push({
      key: key.slice(dot + 1),
      keyLoc: s.keyLoc,
      value: s.node,
      comment: s.comment,
    });
  }
  return out;
}

export function logNode(c: Cfg, items: LogItem[], loc: Loc): SrcNode {
  // `log global` twice sends nothing twice: keep one
  const seen = new Set<string>();
  const uniq = items.filter((it) => {
    if (it.kind !== "global") return true;
    if (seen.has("g")) return false;
    seen.add("g");
    return true;
  });
  if (uniq.length === 0) return c.scalar(false, loc);
  if (uniq.length === 1 && uniq[0].kind === "global") {
    const s = c.scalar("global", uniq[0].loc);
    s.comment = uniq[0].comment;
    return s;
  }
  const seqItems: SrcNode[] = [];
  for (const it of uniq) {
    if (it.kind === "target") seqItems.push(it.node);
    else seqItems.push(...c.globalLog.map((g) => ({ ...g, comment: undefined })));
  }
  return { kind: "seq", items: seqItems, loc: seqItems[0]?.loc ?? loc };
}

export function proxyEntry(
  c: Cfg,
  p: ProxyRec,
  part: "fe" | "be",
  d1: DefaultsSec | null,
): SrcEntry {
  const dk = p.defaults;
  const fits = (s: Setting) => s.cap === "both" || s.cap === part;
  const entries: SrcEntry[] = [];
  const loc = p.nameLoc;
  let inheritNote: string | undefined;

  // structure first
  if (part === "fe") {
    const binds = p.binds.map((b): SrcNode => {
      const s = c.scalar(b.text, b.loc);
      if (!b.ssl) {
        s.comment = b.comment;
        return s;
      }
      // bind ADDR ssl crt F ... -> { address, ssl: { crt, alpn, ssl-min-ver, ssl-max-ver } }
      const t = b.ssl;
      const ssl: SrcEntry[] = [{
        key: "crt",
        keyLoc: t.crt[0].loc,
        value: t.crt.length === 1 ? c.scalar(t.crt[0].text, t.crt[0].loc) : {
          kind: "seq",
          items: t.crt.map((x) => c.scalar(x.text, x.loc)),
          loc: t.crt[0].loc,
        },
      }];
      for (
        const [k, v] of [["alpn", t.alpn], ["ssl-min-ver", t.minVer], [
          "ssl-max-ver",
          t.maxVer,
        ]] as const
      ) {
        if (v) ssl.push({ key: k, keyLoc: v.loc, value: c.scalar(v.text, v.loc) });
      }
      return {
        kind: "map",
        loc: b.loc,
        comment: b.comment,
        entries: [
          { key: "address", keyLoc: b.loc, value: s },
          { key: "ssl", keyLoc: t.loc!, value: { kind: "map", entries: ssl, loc: t.loc! } },
        ],
      };
    });
    entries.push({
      key: "bind",
      keyLoc: p.bindKeyLoc!,
      value: binds.length === 1 ? binds[0] : { kind: "seq", items: binds, loc: binds[0].loc },
    });
    const acls = aclsEntry(c, p);
    if (acls) entries.push(acls);
    if (p.useBackend.length) {
      entries.push({
        key: "use_backend",
        keyLoc: p.useBackend[0].keyLoc,
        value: {
          kind: "seq",
          items: p.useBackend.map((u) => u.node),
          loc: p.useBackend[0].keyLoc,
        },
      });
    }
    const own = p.settings.get("default_backend");
    const inh = dk?.settings.get("default_backend");
    if (own) {
      entries.push({
        key: "default_backend",
        keyLoc: own.keyLoc,
        value: own.node,
        comment: own.comment,
      });
    } else if (p.type === "listen") {
      entries.push({
        key: "default_backend",
        keyLoc: p.nameLoc,
        value: c.scalar(p.name, p.nameLoc),
      });
    } else if (inh) entries.push({ key: "default_backend", keyLoc: inh.keyLoc, value: inh.node });
  } else {
    for (const key of ["balance", "cookie", "dynamic-cookie-key"]) {
      const own = p.settings.get(key) ?? dk?.settings.get(key);
      if (own) entries.push({ key, keyLoc: own.keyLoc, value: own.node, comment: own.comment });
    }
  }

  // errorfile lines (defaults', http-errors imports, own): every proxy gets its own map
  const ef = errorfilesEntry(c, p.settings, dk?.settings ?? null, loc);
  if (ef) entries.push(ef);
  // stats lines (defaults' then own); for a listen the frontend part serves the page first
  const statsList: [string, Setting][] = [];
  for (const src of [dk?.settings, p.settings]) {
    for (const [k, st] of src ?? []) {
      if (!k.startsWith("stats.")) continue;
      const i = statsList.findIndex(([kk]) => kk === k);
      if (i >= 0) statsList.splice(i, 1);
      statsList.push([k, st]);
    }
  }
  if (statsList.length) {
    entries.push(...settingsEntries(statsList));
  }

  // settings: own lines, then where this proxy's defaults differ from the YAML defaults
  const list: [string, Setting][] = [];
  for (const [k, s] of p.settings) {
    if (!YAML_DEFAULTABLE(k) || !fits(s)) continue;
    if (part === "fe" && k.startsWith("default-server.")) continue;
    list.push([k, s]);
  }
  if (dk !== d1) {
    const keys = new Set<string>();
    for (const src of [dk?.settings, d1?.settings]) {
      for (const [k, s] of src ?? []) if (YAML_DEFAULTABLE(k) && fits(s)) keys.add(k);
    }
    for (const k of keys) {
      if (p.settings.has(k) || k === "mode") continue;
      if (part === "fe" && k.startsWith("default-server.")) continue;
      const a = dk?.settings.get(k);
      const b = d1?.settings.get(k);
      if (a && b && sameNode(a.node, b.node)) continue;
      if (a) list.push([k, a]);
      else if (k.startsWith("default-server.")) continue; // servers are pinned below
      else list.push([k, { ...b!, node: unsetValue(c, k, b!.keyLoc), comment: undefined }]);
      inheritNote = dk
        ? `settings from the 'defaults' section at ${dk.loc.file}:${dk.loc.line}`
        : `defined before any 'defaults' section: HAProxy's built-in defaults apply`;
    }
  }
  const settingEntries = settingsEntries(list);

  // log: HAProxy appends a proxy's `log` lines to those of its defaults
  const effLog = p.noLog ? [...p.log] : [...(dk?.log ?? []), ...p.log];
  const yamlLog = d1?.logSet ? d1.log : [];
  const logDiffers = p.log.length > 0 || p.noLog || !sameLog(effLog, yamlLog);
  if (logDiffers) {
    const lloc = p.logKeyLoc ?? dk?.logKeyLoc ?? p.nameLoc;
    settingEntries.splice(modeIndex(settingEntries), 0, {
      key: "log",
      keyLoc: lloc,
      value: logNode(c, effLog, lloc),
    });
  }

  // servers
  if (part === "be") {
    const ds = settingEntries.find((x) => x.key === "default-server");
    if (ds) {
      settingEntries.splice(settingEntries.indexOf(ds), 1);
      entries.push(ds);
    }
    // What YAML gives a server: its own keys, then the backend's default-server as written
    // here, then the YAML defaults'. What HAProxy gives it: its own keys, then the
    // default-server lines read before it (a later default-server line does not apply).
    const yamlDs = new Map<string, SrcNode>();
    for (const [k, st] of d1?.settings ?? []) {
      if (k.startsWith("default-server.")) yamlDs.set(k.slice(15), st.node);
    }
    for (const [k, st] of list) {
      if (k.startsWith("default-server.")) yamlDs.set(k.slice(15), st.node);
    }
    const servers: SrcEntry[] = p.servers.map((s) => {
      const fields = new Map(s.fields);
      for (const k of new Set([...s.dsSnapshot.keys(), ...yamlDs.keys()])) {
        if (fields.has(k)) continue;
        const want = s.dsSnapshot.get(k) ?? builtinServer(c, k, s, s.dsSnapshot);
        const got = yamlDs.get(k) ?? builtinServer(c, k, s, yamlDs);
        if (want !== null && !(got !== null && sameNode(want, got))) {
          fields.set(k, { node: { ...want, loc: s.nameLoc }, keyLoc: s.nameLoc });
        }
      }
      return {
        key: s.name,
        keyLoc: s.nameLoc,
        comment: s.comment,
        value: {
          kind: "map",
          loc: s.nameLoc,
          entries: [...fields].map(([k, f]) => ({ key: k, keyLoc: f.keyLoc, value: f.node })),
        },
      };
    });
    if (servers.length) {
      entries.push({
        key: "servers",
        keyLoc: servers[0].keyLoc,
        value: { kind: "map", entries: servers, loc: servers[0].keyLoc },
      });
    }
    if (p.useServer.length) {
      entries.push({
        key: "use-server",
        keyLoc: p.useServer[0].keyLoc,
        value: { kind: "seq", items: p.useServer.map((u) => u.node), loc: p.useServer[0].keyLoc },
      });
    }
  }
  // http-request / http-response rules: once per proxy (a listen's go with its frontend)
  const rulesPart = p.type === "backend" || (p.type === "listen" && p.binds.length === 0)
    ? "be"
    : "fe";
  // A backend's rules and use-server rules name its own ACLs (a listen's frontend part has
  // them already; its backend part gets them too when it has use-server rules).
  if (part === "be" && (rulesPart === "be" || p.useServer.length > 0)) {
    const acls = aclsEntry(c, p);
    if (acls) entries.push(acls);
  }
  if (part === rulesPart) {
    for (
      const [key, list] of [["http-request", p.httpRequest], [
        "http-response",
        p.httpResponse,
      ]] as const
    ) {
      if (list.length === 0) continue;
      const items = list.map((x) => {
        const node = c.scalar(x.text, x.loc);
        node.comment = x.comment;
        return node;
      });
      entries.push({
        key,
        keyLoc: list[0].keyLoc,
        value: { kind: "seq", items, loc: list[0].keyLoc },
      });
    }
  }
  entries.push(...settingEntries);

  let comment = p.comment;
  if (p.type === "listen") {
    // the section's own comment goes with its first part (the frontend when it listens)
    const note = p.binds.length > 0
      ? `from 'listen ${p.name}'${
        p.binds[0].loc === p.nameLoc ? " (no 'bind': listens on its name)" : ""
      }`
      : `from 'listen ${p.name}', which has no 'bind': no listener, its servers are checked`;
    comment = part === "be" && p.binds.length > 0
      ? note
      : [p.comment, note].filter(Boolean).join("\n");
  }
  if (inheritNote) comment = [comment, inheritNote].filter(Boolean).join("\n");
  return { key: p.name, keyLoc: p.nameLoc, value: { kind: "map", entries, loc }, comment };
}

/** A proxy's `acl` lines as one `acls` map (the same name on several lines: a list). */
function aclsEntry(c: Cfg, p: ProxyRec): SrcEntry | null {
  if (p.acls.length === 0) return null;
  const acls: SrcEntry[] = [];
  for (const a of p.acls) {
    const existing = acls.find((x) => x.key === a.name);
    const node = c.scalar(a.text, a.textLoc);
    node.comment = a.comment;
    if (!existing) acls.push({ key: a.name, keyLoc: a.nameLoc, value: node });
    else if (existing.value.kind === "seq") existing.value.items.push(node);
    else existing.value = { kind: "seq", items: [existing.value, node], loc: existing.value.loc };
  }
  return {
    key: "acls",
    keyLoc: p.acls[0].nameLoc,
    value: { kind: "map", entries: acls, loc: p.acls[0].nameLoc },
  };
}

/** HAProxy's value for a server key nobody set, or null when "the default" is fine. */
export function builtinServer(
  c: Cfg,
  key: string,
  s: ServerRec,
  ds: Map<string, SrcNode>,
): SrcNode | null {
  if (key in SERVER_BUILTIN) return c.scalar(SERVER_BUILTIN[key], s.nameLoc);
  if (key === "fastinter" || key === "downinter") {
    // defaults to inter
    const inter = s.fields.get("inter")?.node ?? ds.get("inter");
    return inter ?? c.scalar(BUILTIN_INTER, s.nameLoc);
  }
  return null;
}

/** The value that undoes a YAML `defaults` setting in a proxy whose defaults lack it. */
export function unsetValue(c: Cfg, key: string, loc: Loc): SrcNode {
  if (key.startsWith("options.")) return c.scalar(false, loc);
  if (key === "retries") return c.scalar(BUILTIN_RETRIES, loc);
  // 0 is "no timeout", HAProxy's value when nothing is said
  if (key.startsWith("timeouts.")) return c.scalar(0, loc);
  // HAProxy's default expectation: a 2xx or 3xx status
  if (key === "http-check.expect") return c.scalar("rstatus ^[23]", loc);
  if (key === "http-check.disable-on-404") return c.scalar(false, loc);
  if (key === "maxconn") return c.scalar(BUILTIN_MAXCONN, loc);
  if (key.startsWith("default-server.")) {
    const k = key.slice(15);
    return c.scalar(k in SERVER_BUILTIN ? SERVER_BUILTIN[k] : null, loc);
  }
  return c.scalar(null, loc);
}

/** Keys a YAML `defaults` can hold (balance, cookie and default_backend are copied into each
 * proxy). */
function YAML_DEFAULTABLE(key: string): boolean {
  return key !== "balance" && key !== "default_backend" && key !== "cookie" &&
    key !== "dynamic-cookie-key" &&
    !key.startsWith("errorfiles.") && !key.startsWith("stats.");
}

/** Same value, locations and comments aside. */
export function sameNode(a: SrcNode, b: SrcNode): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "scalar") return a.value === (b as SrcScalar).value;
  if (a.kind === "seq") {
    const bi = (b as SrcSeq).items;
    return a.items.length === bi.length && a.items.every((x, i) => sameNode(x, bi[i]));
  }
  const be = (b as SrcMap).entries;
  return a.entries.length === be.length &&
    a.entries.every((x, i) => x.key === be[i].key && sameNode(x.value, be[i].value));
}

function sameLog(a: LogItem[], b: LogItem[]): boolean {
  const norm = (l: LogItem[]) => {
    const out: LogItem[] = [];
    let g = false;
    for (const it of l) {
      if (it.kind === "global") {
        if (g) continue;
        g = true;
      }
      out.push(it);
    }
    return out;
  };
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((it, i) => {
    const o = y[i];
    if (it.kind === "global" || o.kind === "global") return it.kind === o.kind;
    return sameNode(it.node, o.node);
  });
}
