// Section headers (global, defaults, frontend, backend, listen, and the sections wtproxy
// skips), `from <defaults>`, and the checks made when a section ends.
import { parseAddress } from "../address.ts";
import type { Cfg, DefaultsSec, ProxyRec, Section } from "./context.ts";
import { PROXY_NAME_OK } from "./context.ts";
import { OTHER_SECTIONS, SECTION_READERS } from "./families/index.ts";
import type { Line } from "./words.ts";
import { expandAddressVars } from "./words.ts";
import { bindAddresses } from "./families/bind.ts";
import { startResolvers } from "./families/resolvers.ts";
import type { Loc } from "../model.ts";

export function startSection(c: Cfg, l: Line, prev: Section): Section {
  finish(c, prev);
  const kw = l.words[0].text;
  const kwLoc = c.at(l, l.words[0]);
  c.sectionName = l.words[1]?.text ?? kw;
  if (kw in SECTION_READERS) {
    const r = SECTION_READERS[kw](c, l);
    return { kind: "custom", line: r.line, end: r.end };
  }
  if (kw in OTHER_SECTIONS) {
    c.warn(
      kwLoc,
      `'${kw}' section ignored (up to the next section): ${OTHER_SECTIONS[kw]}`,
    );
    c.noteIgnored(l, "section ignored by wtproxy");
    return { kind: "skipped" };
  }
  if (kw === "resolvers") return { kind: "resolvers", rec: startResolvers(c, l) };
  if (kw === "global") {
    if (c.globalLoc === null) {
      c.globalLoc = kwLoc;
      c.globalComment = c.takeComment(l);
    } else {
      const cm = c.takeComment(l);
      if (cm) c.keep(cm);
    }
    if (l.words.length > 1) {
      c.unexpected(l, "global", l.words[1]);
    }
    return { kind: "global" };
  }
  if (kw === "defaults") {
    let name: string | null = null;
    let i = 1;
    if (l.words[1] && l.words[1].text !== "from") {
      name = l.words[1].text;
      i = 2;
    }
    const from = parseFrom(c, l, i) ?? null;
    // a `defaults` section starts from HAProxy's built-in settings, or from `from NAME`
    const sec: DefaultsSec = {
      name,
      loc: kwLoc,
      settings: new Map(from ? [...from.settings] : []),
      log: from ? [...from.log] : [],
      logKeyLoc: from?.logKeyLoc ?? null,
      logSet: from?.logSet ?? false,
      refused: new Set(from?.refused ?? []),
    };
    sec.comment = c.takeComment(l);
    c.defaultsList.push(sec);
    if (name !== null) c.namedDefaults.set(name, sec);
    c.lastDefaults = sec;
    return { kind: "defaults", sec };
  }
  // frontend / backend / listen
  const type = kw as ProxyRec["type"];
  const nameWord = l.words[1];
  if (!nameWord || nameWord.text === "from") {
    c.error(kwLoc, `'${kw}' expects an <id> argument`);
    return { kind: "skipped" };
  }
  const name = nameWord.text;
  const nameLoc = c.at(l, nameWord);
  if (!PROXY_NAME_OK.test(name)) {
    const bad = [...name].find((ch) => !/[A-Za-z0-9_.:-]/.test(ch));
    c.error(nameLoc, `character '${bad}' is not permitted in '${kw}' name '${name}'.`);
  }
  let legacyListen = false;
  let legacyBinds: { text: string; loc: Loc }[] = [];
  let fromIdx = 2;
  if (l.words[2] && l.words[2].text !== "from") {
    if (kw === "listen" || kw === "frontend") {
      // HAProxy 1.x: `listen NAME ADDR`. HAProxy 1.6+ refuses it; the meaning is plain.
      const addrW = expandAddressVars(c, l, l.words[2]);
      const binds = bindAddresses(c, l, addrW);
      if (binds) {
        const raw = l.raw.slice(l.words[2].col - 1, l.words[2].end);
        c.warn(
          c.at(l, l.words[2]),
          `'${kw} ${name} ${raw}': an address in the section header is HAProxy 1.x syntax ` +
            `(HAProxy 1.6 and later refuse it: "please use the 'bind' keyword for listening ` +
            `addresses"); wtproxy listens on ${raw}. Write 'bind ${raw}' inside the section.`,
        );
        legacyBinds = binds;
      }
      legacyListen = true;
    } else {
      c.unexpected(l, kw, l.words[2]);
    }
    fromIdx = 3;
  }
  let defaults = c.lastDefaults;
  const f = parseFrom(c, l, fromIdx);
  if (f !== undefined) defaults = f;
  const p: ProxyRec = {
    type,
    name,
    keyLoc: kwLoc,
    nameLoc,
    comment: c.takeComment(l),
    defaults,
    settings: new Map(),
    log: [],
    noLog: false,
    logKeyLoc: null,
    binds: [],
    bindKeyLoc: null,
    acls: [],
    useBackend: [],
    useServer: [],
    httpRequest: [],
    httpResponse: [],
    servers: [],
    legacyListen,
    refused: new Set(legacyListen && legacyBinds.length === 0 ? ["bind"] : []),
    expectCount: 0,
  };
  // same name twice for the same capability
  for (
    const [map, has] of [
      [c.frontendsByName, type !== "backend"],
      [c.backendsByName, type !== "frontend"],
    ] as const
  ) {
    if (!has) continue;
    const other = map.get(name);
    if (other) {
      c.error(
        nameLoc,
        `${kw} '${name}' has the same name as ${other.type} '${name}' declared at ` +
          `${other.keyLoc.file}:${other.keyLoc.line}.`,
      );
      c.refusedProxies.add(name);
      return { kind: "skipped" };
    }
  }
  if (legacyBinds.length) {
    p.bindKeyLoc = legacyBinds[0].loc;
    for (const b of legacyBinds) p.binds.push({ ...b, comment: undefined });
  }
  if (type !== "backend") c.frontendsByName.set(name, p);
  if (type !== "frontend") c.backendsByName.set(name, p);
  c.proxies.push(p);
  return { kind: "proxy", p };
}

/** `from NAME` at words[i]: the named defaults; undefined when absent. */
export function parseFrom(c: Cfg, l: Line, i: number): DefaultsSec | null | undefined {
  const w0 = l.words[i];
  if (!w0) return undefined;
  if (w0.text !== "from" || !l.words[i + 1]) {
    c.error(c.at(l, w0), `unexpected argument '${w0.text}': expected 'from <defaults>'`);
    return undefined;
  }
  const name = l.words[i + 1].text;
  const d = c.namedDefaults.get(name);
  if (!d) {
    c.error(c.at(l, l.words[i + 1]), `unable to find defaults section '${name}'.`);
    return undefined;
  }
  if (l.words[i + 2]) {
    c.error(c.at(l, l.words[i + 2]), `unexpected argument '${l.words[i + 2].text}'.`);
  }
  return d;
}

export function finish(c: Cfg, section: Section) {
  const join = (a: string | undefined, b: string | undefined) =>
    [a, b].filter(Boolean).join("\n") || undefined;
  if (section.kind === "custom") section.end?.(c);
  if (section.kind === "global") c.globalComment = join(c.globalComment, c.takeNotes());
  if (section.kind === "resolvers") section.rec.comment = join(section.rec.comment, c.takeNotes());
  if (section.kind === "defaults" && section.sec === c.defaultsList[0]) {
    section.sec.comment = join(section.sec.comment, c.takeNotes());
  }
  if (section.kind !== "proxy") return;
  section.p.comment = join(section.p.comment, c.takeNotes());
  // a refused `mode` (tcp) already said what matters: "write mode http" would mislead
  const modeRefused = section.p.refused.has("mode") || section.p.defaults?.refused.has("mode");
  if (
    !section.p.settings.has("mode") && !section.p.defaults?.settings.has("mode") && !modeRefused
  ) {
    c.warn(
      section.p.nameLoc,
      `proxy '${section.p.name}' has no 'mode': HAProxy would run it in 'mode tcp' (its ` +
        `default), wtproxy runs it in 'mode http'. Write 'mode http' (e.g. in 'defaults').`,
    );
  }
  const p = section.p;
  if (p.type === "backend" || p.binds.length > 0 || p.legacyListen) return;
  if (p.refused.has("bind")) return; // its `bind` line was refused: nothing to add
  let looksLikeAddress = false;
  try {
    parseAddress(p.name);
    looksLikeAddress = true;
  } catch { /* a plain name */ }
  if (p.type === "listen" && looksLikeAddress) {
    // The Wt wiki's basic recipe writes `listen 0.0.0.0:8181`. HAProxy >= 1.5 takes the
    // word as a name and silently listens nowhere; the author meant an address, so
    // wtproxy listens there, and says so.
    p.binds.push({ text: p.name, loc: p.nameLoc, comment: undefined });
    c.warn(
      p.nameLoc,
      `proxy '${p.name}' has no 'bind' directive and its name looks like an address: ` +
        `HAProxy would take it as a name only and listen nowhere; wtproxy listens on ` +
        `${p.name}. Add 'bind ${p.name}' to the section to say so explicitly.`,
    );
    return;
  }
  if (p.type === "listen") {
    c.warn(
      p.nameLoc,
      `proxy '${p.name}' has no 'bind' directive: wtproxy, like HAProxy, opens no listener ` +
        `for it and only health-checks its servers. Please declare it as a backend if this ` +
        `was intended.`,
    );
  } else {
    c.warn(
      p.nameLoc,
      `proxy '${p.name}' has no 'bind' directive: it listens nowhere and is left out.`,
    );
  }
}
