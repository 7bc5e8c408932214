// The parser's state and the helpers every directive uses: locations, diagnostics, comments
// kept for --to-yaml, environment variables, and the records collected before the tree is
// written (emit.ts writes it).
import type { Diagnostic, Loc, SrcEntry, SrcMap, SrcNode, SrcScalar } from "../model.ts";
import type { Line, Word } from "./words.ts";
import type { Cap, Unsupported } from "./families/types.ts";

export interface HaproxyParseOptions {
  /** Environment lookup for "${VAR}" (default: Deno.env, unset when not permitted). */
  env?: (name: string) => string | undefined;
}

// ---------------------------------------------------------------------------------------------
// What the parser collects before the tree is written

export interface Setting {
  node: SrcNode;
  keyLoc: Loc;
  cap: Cap;
  comment?: string;
}
/** Dotted keys: "mode", "retries", "options.httplog", "timeouts.connect", "default-server.inter". */
export type Settings = Map<string, Setting>;

export type LogItem =
  | { kind: "global"; loc: Loc; comment?: string }
  | { kind: "target"; node: SrcMap };

export interface DefaultsSec {
  name: string | null;
  comment?: string;
  loc: Loc;
  settings: Settings;
  log: LogItem[];
  logKeyLoc: Loc | null;
  /** `log` was written (or `no log`) in this section or the one it inherits from. */
  logSet: boolean;
  /** Keywords of lines refused here (or in the section inherited with `from`). */
  refused: Set<string>;
}

export interface ServerRec {
  name: string;
  keyLoc: Loc;
  nameLoc: Loc;
  comment?: string;
  fields: Map<string, { node: SrcNode; keyLoc: Loc }>;
  /** The effective default-server (defaults + this backend so far) when the line was read. */
  dsSnapshot: Map<string, SrcNode>;
}

/** The TLS words of one `bind` line. */
export interface BindSslRec {
  on: boolean;
  loc?: Loc;
  crt: { text: string; loc: Loc }[];
  alpn?: { text: string; loc: Loc };
  minVer?: { text: string; loc: Loc };
  maxVer?: { text: string; loc: Loc };
}

export interface ProxyRec {
  type: "frontend" | "backend" | "listen";
  name: string;
  keyLoc: Loc;
  nameLoc: Loc;
  comment?: string;
  defaults: DefaultsSec | null;
  settings: Settings;
  log: LogItem[];
  noLog: boolean;
  logKeyLoc: Loc | null;
  binds: { text: string; loc: Loc; comment?: string; ssl?: BindSslRec }[];
  bindKeyLoc: Loc | null;
  acls: { name: string; nameLoc: Loc; text: string; textLoc: Loc; comment?: string }[];
  useBackend: { keyLoc: Loc; node: SrcMap }[];
  /** `use-server NAME if|unless COND` rules, as YAML rule maps. */
  useServer: { keyLoc: Loc; node: SrcMap }[];
  /** `http-request` / `http-response` rule texts (after the keyword), in order. */
  httpRequest: { text: string; loc: Loc; keyLoc: Loc; comment?: string }[];
  httpResponse: { text: string; loc: Loc; keyLoc: Loc; comment?: string }[];
  servers: ServerRec[];
  /** `listen NAME ADDR`: the header gave the address. */
  legacyListen: boolean;
  /** Keywords of lines refused in this section: no follow-on message about them. */
  refused: Set<string>;
  /** Own default-server keys, in order (also in settings as "default-server.X"). */
  expectCount: number;
}

/** A `resolvers NAME` section: its YAML entries as the lines give them. */
export interface ResolversRec {
  name: string;
  keyLoc: Loc;
  nameLoc: Loc;
  comment?: string;
  /** Top keys in order ("nameservers", "hold", "timeouts" are maps of their own). */
  entries: Map<string, SrcEntry>;
}

export type Section =
  | { kind: "none" }
  | { kind: "resolvers"; rec: ResolversRec }
  | { kind: "global" }
  | { kind: "defaults"; sec: DefaultsSec }
  | { kind: "proxy"; p: ProxyRec }
  | { kind: "skipped" }
  /** A section a family reads itself (e.g. `http-errors`): each of its lines goes to `line`. */
  | { kind: "custom"; line: (c: Cfg, l: Line) => void; end?: (c: Cfg) => void };

export const PROXY_NAME_OK = /^[A-Za-z0-9_.:-]+$/;

/** HAProxy's capability check: a frontend lacks "be", a backend "fe"; `listen` has both. */
export function lacks(p: ProxyRec | null, cap: Cap): boolean {
  return p !== null && p.type !== "listen" && cap !== "both" &&
    (cap === "fe") !== (p.type === "frontend");
}

export class Cfg {
  readonly diags: Diagnostic[] = [];
  readonly envOverlay = new Map<string, string | null>();
  resetEnv = false;
  /** `crt-base DIR` (global): prefix of the relative `crt` paths of the binds that follow it. */
  crtBase: string | undefined;
  readonly lookupEnv: (name: string) => string | undefined;

  globalEntries: SrcEntry[] = [];
  globalLog: SrcMap[] = [];
  globalLogKeyLoc: Loc | null = null;
  globalLogComment: string | undefined;
  globalLoc: Loc | null = null;
  globalComment: string | undefined;

  defaultsList: DefaultsSec[] = [];
  namedDefaults = new Map<string, DefaultsSec>();
  lastDefaults: DefaultsSec | null = null;
  proxies: ProxyRec[] = [];
  frontendsByName = new Map<string, ProxyRec>();
  backendsByName = new Map<string, ProxyRec>();
  resolvers: ResolversRec[] = [];

  /** Comment lines waiting for the next element; `note`: a trace of an ignored directive. */
  pending: { text: string; note: boolean }[] = [];
  headComment: string[] = [];
  /** Lines that got an error, and proxies refused as a whole: for follow-on checks. */
  readonly refusedLines = new Set<number>();
  readonly refusedProxies = new Set<string>();
  sectionName = "";

  constructor(readonly text: string, readonly file: string, opts: HaproxyParseOptions) {
    this.lookupEnv = opts.env ?? ((name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    });
  }

  loc(line: number, col: number): Loc {
    return { file: this.file, line, col };
  }
  at(l: Line, w: Word | undefined): Loc {
    return this.loc(l.no, w ? w.col : 1);
  }
  error(loc: Loc, message: string) {
    this.diags.push({ ...loc, severity: "error", message });
  }
  errorCount(): number {
    return this.diags.reduce((n, d) => n + (d.severity === "error" ? 1 : 0), 0);
  }
  /** A refused line: keep it as a note for the YAML reader (--to-yaml). */
  noteRefused(l: Line) {
    this.refusedLines.add(l.no);
    if (l.comment !== null && l.comment.trim() !== "") this.keep(l.comment.trim());
    this.pending.push({
      text: `refused by wtproxy (see the error): ${l.raw.replace(/#.*$/, "").trim()}`,
      note: true,
    });
  }
  warn(loc: Loc, message: string) {
    this.diags.push({ ...loc, severity: "warning", message });
  }

  /** Takes the comment lines waiting for the next element (plus an inline comment). */
  takeComment(l: Line): string | undefined {
    const parts = this.pending.map((x) => x.text);
    if (l.comment !== null && l.comment.trim() !== "") parts.push(l.comment.trim());
    this.pending = [];
    return parts.length ? parts.join("\n") : undefined;
  }
  keep(text: string) {
    this.pending.push({ text, note: false });
  }
  /** Notes about ignored directives left at a section's end go with the section itself. */
  takeNotes(): string | undefined {
    const notes = this.pending.filter((x) => x.note).map((x) => x.text);
    this.pending = this.pending.filter((x) => !x.note);
    return notes.length ? notes.join("\n") : undefined;
  }
  /** A directive that produced nothing: keep a trace of it for the YAML reader. */
  noteIgnored(l: Line, why: string) {
    if (l.comment !== null && l.comment.trim() !== "") this.keep(l.comment.trim());
    this.pending.push({ text: `${why}: ${l.raw.replace(/#.*$/, "").trim()}`, note: true });
  }

  env(name: string): string | undefined {
    if (name === ".FILE") return this.file;
    if (name === ".SECTION") return this.sectionName;
    if (this.envOverlay.has(name)) return this.envOverlay.get(name) ?? undefined;
    if (this.resetEnv) return undefined;
    return this.lookupEnv(name);
  }

  unsupported(l: Line, u: Unsupported, what?: string) {
    const name = what ?? l.words[0].text;
    const loc = this.at(l, l.words[0]);
    if (u.level === "warn") {
      this.warn(loc, `'${name}' is not supported by wtproxy and is ignored: ${u.why}.`);
      this.noteIgnored(l, "ignored by wtproxy");
    } else {
      this.error(
        loc,
        `'${name}' is not supported by wtproxy: ${u.why}. Running without it would change ` +
          `what this configuration does, so it is refused.`,
      );
    }
  }

  noExtra(l: Line, what: string, used: number): boolean {
    const extra = l.words[used + 1];
    if (!extra) return true;
    this.unexpected(l, what, extra);
    return false;
  }
  /** HAProxy's message for a word the directive `what` does not take. */
  unexpected(l: Line, what: string, extra: Word) {
    this.error(this.at(l, extra), `'${what}' cannot handle unexpected argument '${extra.text}'.`);
  }

  // -------------------------------------------------------------------------------------------

  // -------------------------------------------------------------------------------------------
  scalar(value: string | number | boolean | null, loc: Loc): SrcScalar {
    return { kind: "scalar", value, loc };
  }
  strNode(l: Line, w: Word): SrcScalar {
    return this.scalar(w.text, this.at(l, w));
  }
  /** Integers stay numbers; anything else stays text for build.ts to refuse with its loc. */
  intNode(l: Line, w: Word): SrcScalar {
    return this.scalar(/^\d+$/.test(w.text) ? Number(w.text) : w.text, this.at(l, w));
  }
  durationNode(l: Line, w: Word): SrcScalar {
    // HAProxy 2.6 reads `15min` / `1s[` as 15m / 1s and only warns about the rest (after a unit)
    const m = /^(\d+)(\D.*)$/.exec(w.text);
    const unit = m ? /^(us|ms|[smhd])/.exec(m[2])?.[1] : undefined;
    if (m && unit && m[2] !== unit) {
      const read = m[1] + unit;
      const rest = m[2].slice(unit.length);
      this.warn(
        this.loc(l.no, w.col + read.length),
        `unexpected character '${rest[0]}' after the timer value '${w.text}', only (us, ms, s, ` +
          `m, h, d) are supported: HAProxy 2.6 reads it as '${read}' and will refuse it in next ` +
          `versions; wtproxy reads it as '${read}' too. Write '${read}'.`,
      );
      return this.scalar(read, this.at(l, w));
    }
    return this.intNode(l, w);
  }
  /** Text of words as written (so ACL text keeps its quotes), unless variables were expanded. */
  restText(l: Line, words: Word[]): string {
    const first = words[0];
    const last = words[words.length - 1];
    const raw = l.raw.slice(first.col - 1, last.end);
    if (!words.some((x) => x.expanded)) return raw;
    return words.map((x) => /[\s'"#\\]/.test(x.text) || x.text === "" ? `'${x.text}'` : x.text)
      .join(" ");
  }

  // -------------------------------------------------------------------------------------------
  // The tree
}

/** The unsupported parameters of one `bind`/`server` line, reported once per reason: `bind
 * :443 ssl crt x.pem alpn h2` is one feature (TLS), so one message names 'ssl', 'crt', 'alpn'. */
export class ParamRefusals {
  readonly groups = new Map<string, { u: Unsupported; names: string[]; loc: Loc }>();

  add(name: string, loc: Loc, u: Unsupported) {
    const key = `${u.level} ${u.why}`;
    const g = this.groups.get(key);
    if (g) {
      if (!g.names.includes(name)) g.names.push(name);
    } else this.groups.set(key, { u, names: [name], loc });
  }

  /** `what`: "'bind :443'" or "'server app/s1'"; `refusedTail`: added to errors. */
  report(c: Cfg, what: string, refusedTail = "") {
    for (const { u, names, loc } of this.groups.values()) {
      const list = names.map((n) => `'${n}'`);
      const named = list.length === 1
        ? `${list[0]} is`
        : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]} are`;
      if (u.level === "warn") {
        c.warn(loc, `${what} : ${named} not supported by wtproxy and ignored: ${u.why}.`);
      } else c.error(loc, `${what} : ${named} not supported by wtproxy: ${u.why}.${refusedTail}`);
    }
    this.groups.clear();
  }
}
