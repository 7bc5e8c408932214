// What a keyword family declares: the directives it implements and what wtproxy does with the
// HAProxy keywords it does not implement. Families are registered in index.ts.
import type { Loc, SrcNode } from "../../model.ts";
import type { Cfg, DefaultsSec, ProxyRec, Settings } from "../context.ts";
import type { Line, Word } from "../words.ts";

/** "warn": ignored, with a warning (running without it changes nothing that matters to
 * traffic, routing, health or security). "error": refused (it would behave differently). */
export interface Unsupported {
  level: "warn" | "error";
  why: string;
}

/** Where a keyword applies: frontend, backend, or both (HAProxy's capabilities). */
export type Cap = "fe" | "be" | "both";

export interface OptionSpec {
  cap: Cap;
  /** Absent: implemented. */
  unsupported?: Unsupported;
}
export function w(cap: Cap, why: string): OptionSpec {
  return { cap, unsupported: { level: "warn", why } };
}
export function e(cap: Cap, why: string): OptionSpec {
  return { cap, unsupported: { level: "error", why } };
}

export interface TimeoutSpec {
  cap: Cap;
  unsupported?: Unsupported;
}

export type ParamKind = "flag" | "value";
/** A `server`/`default-server` or `bind` parameter. */
export interface ParamSpec {
  kind: ParamKind;
  /** Implemented: the server key it sets ("check"), and for flags the value. */
  key?: string;
  flagValue?: boolean;
  /** Value type for the tree. */
  type?: "int" | "duration" | "string";
  unsupported?: Unsupported;
}
export function pw(kind: ParamKind, why: string): ParamSpec {
  return { kind, unsupported: { level: "warn", why } };
}
export function pe(kind: ParamKind, why: string): ParamSpec {
  return { kind, unsupported: { level: "error", why } };
}

/** One line inside `defaults` or a proxy, as a proxy directive sees it. */
export interface ProxyLine {
  l: Line;
  /** The proxy, or null inside `defaults` (then `d` is set). */
  p: ProxyRec | null;
  d: DefaultsSec | null;
  /** The line's words without a leading `no`. */
  words: Word[];
  negate: boolean;
  kw: string;
  kwLoc: Loc;
  args: Word[];
  settings: Settings;
  /** "frontend 'x'", "defaults"... for messages. */
  where: string;
  /** HAProxy's capability check: false (after a warning, or an error when fatal) when the
   * proxy lacks it. */
  capable(cap: Cap, what: string, fatal?: boolean): boolean;
  /** Sets a dotted setting ("mode", "options.httplog", "timeouts.connect"): emit.ts writes it
   * into the proxy's (or the YAML defaults') map; the last line wins. */
  set(key: string, node: SrcNode, keyLoc: Loc, cap: Cap): void;
}
export type ProxyDirective = (c: Cfg, x: ProxyLine) => void;

/** Starts a section a family reads; returns how to read its lines and end it. */
export type SectionReader = (
  c: Cfg,
  l: Line,
) => { line: (c: Cfg, l: Line) => void; end?: (c: Cfg) => void };

/** One line inside `global`. */
export interface GlobalLine {
  l: Line;
  kw: string;
  kwLoc: Loc;
  args: Word[];
}
export type GlobalDirective = (c: Cfg, x: GlobalLine) => void;

export interface Family {
  /** Directives implemented in `defaults`/frontend/backend/listen, by keyword. */
  proxyDirectives?: Record<string, ProxyDirective>;
  /** Directives implemented in `global`, by keyword. */
  globalDirectives?: Record<string, GlobalDirective>;
  /** Keywords that take a leading `no`. */
  negatable?: string[];
  /** Keywords refused in a `defaults` section. */
  proxyOnly?: string[];
  /** Other sections, skipped as a whole with one warning each: why. */
  sections?: Record<string, string>;
  /** Sections the family reads: called with the header line, returns the section's reader. */
  sectionReaders?: Record<string, SectionReader>;
  /** `global` keywords not implemented. */
  global?: Record<string, Unsupported>;
  /** Proxy keywords not implemented. */
  proxy?: Record<string, Unsupported>;
  /** Keywords HAProxy 2.1 removed, with HAProxy's own replacement hint. */
  removed?: Record<string, string>;
  options?: Record<string, OptionSpec>;
  timeouts?: Record<string, TimeoutSpec>;
  server?: Record<string, ParamSpec>;
  bind?: Record<string, ParamSpec>;
}
