// One line inside `global`, `defaults` or a proxy: `no`, capability checks, then the directive
// registered for its keyword (families/index.ts), else the refusal tables, else "unknown".
import { global26, proxy26 } from "./families/haproxy26.ts";
import type { Loc, SrcNode } from "../model.ts";
import type { Cfg, DefaultsSec, ProxyRec } from "./context.ts";
import { lacks } from "./context.ts";
import type { Cap } from "./families/types.ts";
import {
  GLOBAL_DIRECTIVES,
  GLOBAL_KEYWORDS,
  NEGATABLE,
  PROXY_DIRECTIVES,
  PROXY_KEYWORDS,
  PROXY_ONLY,
  REMOVED_21,
} from "./families/index.ts";
import type { Line } from "./words.ts";

export function globalLine(c: Cfg, l: Line) {
  const before = c.errorCount();
  globalLineInner(c, l);
  if (c.errorCount() > before) c.noteRefused(l);
}

function globalLineInner(c: Cfg, l: Line) {
  const [kwW, ...args] = l.words;
  const kw = kwW.text;
  const kwLoc = c.at(l, kwW);
  const directive = GLOBAL_DIRECTIVES[kw];
  if (directive) {
    directive(c, { l, kw, kwLoc, args });
    return;
  }
  const u = GLOBAL_KEYWORDS[kw] ??
    (kw.startsWith("tune.")
      ? { level: "warn" as const, why: "wtproxy has its own buffer and timer settings" }
      : global26(kw));
  if (u) {
    c.unsupported(l, u);
    return;
  }
  c.error(kwLoc, `unknown keyword '${kw}' in 'global' section`);
}

/** A line inside `defaults` (d) or a frontend/backend/listen (p). */
export function proxyLine(c: Cfg, l: Line, p: ProxyRec | null, d: DefaultsSec | null) {
  const before = c.errorCount();
  proxyLineInner(c, l, p, d);
  if (c.errorCount() > before) {
    const kw = l.words[0].text === "no" && l.words[1] ? l.words[1].text : l.words[0].text;
    (p ?? d!).refused.add(kw);
    c.noteRefused(l);
  }
}

function proxyLineInner(c: Cfg, l: Line, p: ProxyRec | null, d: DefaultsSec | null) {
  let words = l.words;
  let negate = false;
  if (words[0].text === "no" && words.length > 1) {
    negate = true;
    words = words.slice(1);
  }
  const kwW = words[0];
  const kw = kwW.text;
  const kwLoc = c.at(l, kwW);
  const args = words.slice(1);
  const settings = p ? p.settings : d!.settings;
  const where = p ? `${p.type} '${p.name}'` : "defaults";
  /** HAProxy's capability check: false (after a warning) when this proxy lacks it. */
  const capable = (cap: Cap, what: string, fatal = false): boolean => {
    if (!lacks(p, cap)) return true;
    const need = cap === "fe" ? "frontend" : "backend";
    if (fatal) {
      c.error(kwLoc, `'${what}' not allowed because ${where} has no ${need} capability.`);
    } else {
      c.warn(kwLoc, `'${what}' ignored because ${where} has no ${need} capability.`);
      c.noteIgnored(l, "ignored by wtproxy");
    }
    return false;
  };
  const set = (key: string, node: SrcNode, keyLoc: Loc, cap: Cap) => {
    settings.delete(key); // re-inserted: the last line wins, in file order
    settings.set(key, { node, keyLoc, cap, comment: c.takeComment(l) });
  };
  if (negate && !NEGATABLE.has(kw)) {
    c.error(
      c.at(l, l.words[0]),
      `'no ${kw}': wtproxy supports 'no' only before 'option' and 'log'.`,
    );
    return;
  }
  if (p === null && PROXY_ONLY.has(kw)) {
    c.error(
      kwLoc,
      `'${kw}' not allowed in ${
        d!.name ? `'defaults' section '${d!.name}'` : "anonymous 'defaults' section"
      }.`,
    );
    return;
  }
  const directive = PROXY_DIRECTIVES[kw];
  if (directive) {
    directive(c, { l, p, d, words, negate, kw, kwLoc, args, settings, where, capable, set });
    return;
  }
  if (kw in REMOVED_21) {
    c.error(
      kwLoc,
      `The '${kw}' directive is not supported anymore since HAProxy 2.1, nor by wtproxy. ` +
        `Use '${REMOVED_21[kw]}' instead (not supported by wtproxy either).`,
    );
    return;
  }
  const u = PROXY_KEYWORDS[kw] ??
    (kw.startsWith("tune.") ? { level: "warn" as const, why: "not supported" } : proxy26(kw));
  if (u) {
    c.unsupported(l, u);
    return;
  }
  c.error(
    kwLoc,
    `unknown keyword '${kw}' in '${p ? p.type : "defaults"}' section`,
  );
}
