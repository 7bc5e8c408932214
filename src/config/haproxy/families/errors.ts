// Custom error pages: `errorfile CODE FILE` (in defaults, frontends, backends), `http-errors
// NAME` sections of `errorfile` lines and `errorfiles NAME [CODE...]` imports. The files are read
// and checked by the model builder (build/errorfiles.ts); here the lines become each proxy's
// `errorfiles:` map (defaults first, then imports, then its own lines). `errorloc*` and
// `http-error` are not implemented.
import type { Loc, SrcEntry } from "../../model.ts";
import type { Cfg, Settings } from "../context.ts";
import type { Line } from "../words.ts";
import type { Family, ProxyLine } from "./types.ts";
import { ERRORFILE_CODES } from "../../build/errorfiles.ts";

interface Page {
  file: string;
  loc: Loc;
}
interface ErrorsSection {
  loc: Loc;
  pages: Map<number, Page>;
}
interface Import {
  name: string;
  codes: number[] | null;
  loc: Loc;
}
interface State {
  sections: Map<string, ErrorsSection>;
  imports: WeakMap<Settings, Import[]>;
  /** Imports already reported as unknown (a defaults line reaches every proxy). */
  reported: Set<Import>;
}

const STATE = new WeakMap<Cfg, State>();
function state(c: Cfg): State {
  let s = STATE.get(c);
  if (!s) {
    s = { sections: new Map(), imports: new WeakMap(), reported: new Set() };
    STATE.set(c, s);
  }
  return s;
}

export const ERRORS: Family = {
  sectionReaders: { "http-errors": httpErrors },
  proxyDirectives: { errorfile, errorfiles },
  proxy: {
    "http-error": {
      level: "error",
      why: "custom error responses built in the configuration are not supported (use 'errorfile')",
    },
    errorloc: { level: "error", why: "redirects instead of error pages are not supported" },
    errorloc302: { level: "error", why: "redirects instead of error pages are not supported" },
    errorloc303: { level: "error", why: "redirects instead of error pages are not supported" },
  },
};

/** CODE and FILE of an `errorfile` line (null after an error, reported). */
function errorfileArgs(c: Cfg, l: Line, kwLoc: Loc): { code: number; page: Page } | null {
  const [codeW, fileW] = l.words.slice(1);
  if (!codeW || !fileW) {
    c.error(kwLoc, `'errorfile' expects <status_code> and <file> as arguments.`);
    return null;
  }
  const code = Number(codeW.text);
  if (!/^\d+$/.test(codeW.text) || !ERRORFILE_CODES.includes(code)) {
    c.error(c.at(l, codeW), `errorfile : status code '${codeW.text}' not handled.`);
    return null;
  }
  if (l.words.length > 3) c.unexpected(l, "errorfile", l.words[3]);
  return { code, page: { file: fileW.text, loc: c.at(l, fileW) } };
}

function httpErrors(c: Cfg, l: Line) {
  const s = state(c);
  const kwLoc = c.at(l, l.words[0]);
  const name = l.words[1]?.text;
  let sec: ErrorsSection | null = null;
  if (!name) c.error(kwLoc, `missing name for http-errors section.`);
  else if (s.sections.has(name)) {
    const prev = s.sections.get(name)!;
    c.error(
      c.at(l, l.words[1]),
      `http-errors section '${name}' has the same name as another http-errors section ` +
        `declared at ${prev.loc.file}:${prev.loc.line}.`,
    );
  } else {
    sec = { loc: kwLoc, pages: new Map() };
    s.sections.set(name, sec);
  }
  return {
    line(c: Cfg, l: Line) {
      const kw = l.words[0];
      if (kw.text !== "errorfile") {
        c.error(c.at(l, kw), `unknown keyword '${kw.text}' in 'http-errors' section`);
        return;
      }
      const a = errorfileArgs(c, l, c.at(l, kw));
      if (a && sec) sec.pages.set(a.code, a.page);
    },
  };
}

function errorfile(c: Cfg, x: ProxyLine) {
  const a = errorfileArgs(c, x.l, x.kwLoc);
  if (!a) return;
  x.set(`errorfiles.${a.code}`, c.scalar(a.page.file, a.page.loc), a.page.loc, "both");
}

function errorfiles(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args } = x;
  if (!args[0]) {
    c.error(kwLoc, `'errorfiles' expects <name> and optional error codes as arguments.`);
    return;
  }
  const codes: number[] = [];
  for (const w of args.slice(1)) {
    const code = Number(w.text);
    if (!/^\d+$/.test(w.text) || !ERRORFILE_CODES.includes(code)) {
      c.error(c.at(l, w), `errorfiles : status code '${w.text}' not handled.`);
      return;
    }
    codes.push(code);
  }
  const s = state(c);
  const list = s.imports.get(x.settings) ?? [];
  list.push({ name: args[0].text, codes: codes.length ? codes : null, loc: c.at(l, args[0]) });
  s.imports.set(x.settings, list);
}

/**
 * The `errorfiles:` entry of a proxy for the YAML tree (null when it has none): its defaults'
 * lines and imports, then its own imports and lines. Reports imports of unknown sections.
 */
export function errorfilesEntry(
  c: Cfg,
  own: Settings,
  defaults: Settings | null,
  loc: Loc,
): SrcEntry | null {
  const s = STATE.get(c);
  const pages = new Map<number, Page>();
  for (const settings of [defaults, own]) {
    if (!settings) continue;
    for (const imp of s?.imports.get(settings) ?? []) {
      const sec = s!.sections.get(imp.name);
      if (!sec) {
        if (!s!.reported.has(imp)) {
          c.error(imp.loc, `errorfiles : unable to find http-errors section '${imp.name}'.`);
        }
        s!.reported.add(imp);
        continue;
      }
      for (const [code, p] of sec.pages) {
        if (!imp.codes || imp.codes.includes(code)) pages.set(code, p);
      }
    }
    for (const [k, st] of settings) {
      if (!k.startsWith("errorfiles.")) continue;
      const v = st.node.kind === "scalar" ? String(st.node.value) : "";
      pages.set(Number(k.slice(11)), { file: v, loc: st.node.loc });
    }
  }
  if (pages.size === 0) return null;
  return {
    key: "errorfiles",
    keyLoc: loc,
    value: {
      kind: "map",
      loc,
      entries: [...pages].sort((a, b) => a[0] - b[0]).map(([code, p]) => ({
        key: String(code),
        keyLoc: p.loc,
        value: c.scalar(p.file, p.loc),
      })),
    },
  };
}
