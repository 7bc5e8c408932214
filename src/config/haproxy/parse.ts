// HAProxy .cfg text -> located SrcNode tree of the YAML schema (docs/yaml-schema.md).
//
// The HAProxy-syntax part only: words (words.ts), sections (sections.ts), directives (one file
// per keyword family under families/, registered in families/index.ts) and the tree (emit.ts).
// Semantic checks (unknown backend, track cycles, bad durations or addresses) are done once for
// YAML and .cfg by build.ts.
import type { Diagnostic, SrcNode } from "../model.ts";
import { Cfg } from "./context.ts";
import type { HaproxyParseOptions, Section } from "./context.ts";
import { Conditions } from "./conditions.ts";
import { emit } from "./emit.ts";
import type { FollowOn } from "./follow_on.ts";
import { followOnFilter } from "./follow_on.ts";
import { OTHER_SECTIONS, SECTION_READERS, SECTION_WORDS } from "./families/index.ts";
import { globalLine, proxyLine } from "./lines.ts";
import { finish, startSection } from "./sections.ts";
import { resolversLine } from "./families/resolvers.ts";
import type { Line } from "./words.ts";
import { tokenize } from "./words.ts";

export type { HaproxyParseOptions } from "./context.ts";
export { sameNode } from "./emit.ts";

/** Parses an HAProxy configuration into the tree build.ts validates (see the file comment). */
export function parseHaproxy(
  text: string,
  file: string,
  opts: HaproxyParseOptions = {},
): HaproxyParseResult {
  const c = new Cfg(text, file, opts);
  const { tree, diagnostics } = run(c);
  return { tree, diagnostics, followOn: followOnFilter(c) };
}

export interface HaproxyParseResult {
  tree: SrcNode;
  diagnostics: Diagnostic[];
  /** True for a model-check message that only follows from a line refused here. */
  followOn: FollowOn;
}

/** True when the text looks like an HAProxy configuration rather than YAML. */
export function looksLikeHaproxy(text: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "" || line === "---") continue;
    const m = /^([A-Za-z_.-]+)(\s|$)/.exec(line);
    return m !== null && (SECTION_WORDS.has(m[1]) || m[1] in OTHER_SECTIONS) &&
      !/^[A-Za-z_.-]+\s*:/.test(line);
  }
  return false;
}

export function run(c: Cfg): { tree: SrcNode; diagnostics: Diagnostic[] } {
  const lines = c.text.split("\n");
  let section: Section = { kind: "none" };
  let sawSection = false;
  const cond = new Conditions();
  for (let idx = 0; idx < lines.length; idx++) {
    const raw = lines[idx].endsWith("\r") ? lines[idx].slice(0, -1) : lines[idx];
    const before = c.diags.length;
    const l = tokenize(c, raw, idx + 1);
    if (l.words.length > 0 && cond.handle(c, l)) continue;
    if (!cond.active) {
      // a false branch: its lines are not read (their variables not even expanded)
      c.diags.length = before;
      continue;
    }
    if (l.words.length === 0) {
      if (l.comment !== null) c.keep(l.comment.replace(/^ /, ""));
      else if (!sawSection && c.pending.length) {
        // comments before the first section, followed by a blank line: the file's header
        c.headComment.push(...c.pending.map((x) => x.text));
        c.pending = [];
      }
      continue;
    }
    const kw = l.words[0].text;
    if (kw.startsWith(".")) {
      directive(c, l);
      continue;
    }
    if (SECTION_WORDS.has(kw) || kw in OTHER_SECTIONS || kw in SECTION_READERS) {
      sawSection = true;
      section = startSection(c, l, section);
      continue;
    }
    switch (section.kind) {
      case "none":
        c.error(c.at(l, l.words[0]), `unknown keyword '${kw}' out of section.`);
        break;
      case "skipped":
        break;
      case "custom":
        section.line(c, l);
        break;
      case "global":
        globalLine(c, l);
        break;
      case "defaults":
        proxyLine(c, l, null, section.sec);
        break;
      case "proxy":
        proxyLine(c, l, section.p, null);
        break;
      case "resolvers":
        resolversLine(c, l, section.rec);
        break;
    }
  }
  finish(c, section);
  cond.end(c);
  if (c.text !== "" && !c.text.endsWith("\n")) {
    const last = lines[lines.length - 1];
    c.warn(
      c.loc(lines.length, last.length + 1),
      `Missing LF on last line, file might have been truncated: HAProxy refuses such a file; ` +
        `wtproxy reads it. End the file with a newline.`,
    );
  }
  const tree = emit(c);
  return { tree, diagnostics: c.diags };
}

export function directive(c: Cfg, l: Line) {
  const kw = l.words[0].text;
  const msg = l.words.slice(1).map((x) => x.text).join(" ");
  const loc = c.at(l, l.words[0]);
  switch (kw) {
    case ".warning":
      c.warn(loc, msg);
      return;
    case ".notice":
    case ".diag":
      c.warn(loc, `${kw.slice(1)}: ${msg}`);
      return;
    case ".alert":
      c.error(loc, msg);
      return;
    default:
      c.error(loc, `unknown directive '${kw}'`);
  }
}
