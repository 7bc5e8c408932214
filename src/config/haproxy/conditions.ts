// HAProxy 2.4+ conditional blocks: `.if COND` / `.elif COND` / `.else` / `.endif`, nestable.
// Lines in a block whose condition is false are skipped (not even checked), as HAProxy does.
// COND: 0 / a non-zero integer / an empty string (false), `defined(VAR)`, `feature(NAME)`,
// `streq(a,b)`, `strneq(a,b)`, `version_atleast(V)`, `version_before(V)`, `!`, `(...)`,
// `&&` (binds tighter) and `||`. Environment variables in the condition are already expanded
// by the tokenizer (`.if streq("$MODE",prod)`).
import type { Loc } from "../model.ts";
import type { Cfg } from "./context.ts";
import type { Line } from "./words.ts";

/** The HAProxy version wtproxy answers to `version_atleast` / `version_before`. */
export const HAPROXY_VERSION = "2.6";
/** What `feature(NAME)` finds (HAProxy's `haproxy -vv` "+NAME" list): nothing of it yet. */
export const FEATURES: ReadonlySet<string> = new Set<string>();

interface Level {
  /** "take": this branch is read; "wait": no branch taken yet; "done": taken, or the parent
   * block is skipped. */
  state: "take" | "wait" | "done";
  sawElse: boolean;
  loc: Loc;
}

export class Conditions {
  readonly levels: Level[] = [];

  /** Lines are read (not inside a false branch). */
  get active(): boolean {
    return this.levels.every((x) => x.state === "take");
  }

  /** Handles a `.if/.elif/.else/.endif` line; false when `l` is no such line. */
  handle(c: Cfg, l: Line): boolean {
    const kw = l.words[0].text;
    const loc = c.at(l, l.words[0]);
    const top = this.levels[this.levels.length - 1];
    const cond = () => evaluate(c, l);
    switch (kw) {
      case ".if": {
        const parentActive = this.active;
        const take = parentActive && cond();
        this.levels.push({
          state: !parentActive ? "done" : take ? "take" : "wait",
          sawElse: false,
          loc,
        });
        return true;
      }
      case ".elif":
        if (!top) c.error(loc, `'.elif' without a matching '.if'.`);
        else if (top.sawElse) {
          c.error(loc, `'.elif' after '.else' (opened at line ${top.loc.line}).`);
        } else if (top.state === "take") top.state = "done";
        else if (
          top.state === "wait" && this.levels.slice(0, -1).every((x) => x.state === "take")
        ) {
          if (cond()) top.state = "take";
        }
        return true;
      case ".else":
        if (!top) c.error(loc, `'.else' without a matching '.if'.`);
        else if (top.sawElse) {
          c.error(loc, `a second '.else' in the '.if' block opened at line ${top.loc.line}.`);
        } else {
          top.sawElse = true;
          top.state = top.state === "wait" ? "take" : "done";
        }
        if (l.words[1]) c.unexpected(l, ".else", l.words[1]);
        return true;
      case ".endif":
        if (!top) c.error(loc, `'.endif' without a matching '.if'.`);
        else this.levels.pop();
        if (l.words[1]) c.unexpected(l, ".endif", l.words[1]);
        return true;
    }
    return false;
  }

  /** At the end of the file: blocks left open. */
  end(c: Cfg) {
    for (const x of this.levels) {
      c.error(x.loc, `non-terminated '.if' block: add '.endif'.`);
    }
  }
}

/** The condition of a `.if`/`.elif` line (false, after an error, when it cannot be read). */
function evaluate(c: Cfg, l: Line): boolean {
  // HAProxy merges the words into one expression
  const text = l.words.slice(1).map((x) => x.text).join(" ");
  const loc = l.words[1] ? c.at(l, l.words[1]) : c.at(l, l.words[0]);
  try {
    const p = new CondParser(c, text, loc);
    const v = p.expr();
    p.blank();
    if (p.i < text.length) throw new CondError(`unexpected character '${text[p.i]}'`, p.i);
    return v;
  } catch (err) {
    if (!(err instanceof CondError)) throw err;
    c.error(
      loc,
      `failed to parse the condition '${text}' of '${l.words[0].text}' at position ${
        err.at + 1
      }: ${err.message}.`,
    );
    return false;
  }
}

class CondError extends Error {
  constructor(message: string, readonly at: number) {
    super(message);
  }
}

class CondParser {
  i = 0;
  constructor(readonly c: Cfg, readonly s: string, readonly loc: Loc) {}

  blank() {
    while (this.s[this.i] === " " || this.s[this.i] === "\t") this.i++;
  }
  eat(tok: string): boolean {
    this.blank();
    if (this.s.startsWith(tok, this.i)) {
      this.i += tok.length;
      return true;
    }
    return false;
  }
  expr(): boolean {
    if (this.s.trim() === "") return false; // an empty condition is false
    let v = this.and();
    while (this.eat("||")) v = this.and() || v;
    return v;
  }
  and(): boolean {
    let v = this.term();
    while (this.eat("&&")) v = this.term() && v;
    return v;
  }
  term(): boolean {
    this.blank();
    if (this.eat("!")) return !this.term();
    if (this.eat("(")) {
      const v = this.expr();
      if (!this.eat(")")) throw new CondError("expected ')'", this.i);
      return v;
    }
    const start = this.i;
    const m = /^[A-Za-z0-9_.-]*/.exec(this.s.slice(this.i))![0];
    this.i += m.length;
    if (this.s[this.i] === "(") {
      this.i++;
      const args: string[] = [];
      let cur = "";
      while (this.i < this.s.length && this.s[this.i] !== ")") {
        if (this.s[this.i] === ",") {
          args.push(cur);
          cur = "";
        } else cur += this.s[this.i];
        this.i++;
      }
      if (this.s[this.i] !== ")") throw new CondError(`missing ')' after '${m}('`, this.i);
      this.i++;
      args.push(cur);
      return this.predicate(m, args.map((a) => a.trim()), start);
    }
    if (/^-?\d+$/.test(m)) return Number(m) !== 0;
    if (m === "") throw new CondError("expected a term", start);
    throw new CondError(`unknown term '${m}' (expected an integer or a predicate)`, start);
  }
  predicate(name: string, args: string[], at: number): boolean {
    const want = (n: number) => {
      if (args.length !== n) {
        throw new CondError(`'${name}' expects ${n} argument${n > 1 ? "s" : ""}`, at);
      }
    };
    switch (name) {
      case "defined":
        want(1);
        return this.c.env(args[0]) !== undefined;
      case "feature":
        want(1);
        if (!FEATURES.has(args[0])) {
          this.c.warn(
            this.loc,
            `'feature(${args[0]})' is false: wtproxy has no HAProxy feature '${args[0]}'.`,
          );
          return false;
        }
        return true;
      case "streq":
        want(2);
        return args[0] === args[1];
      case "strneq":
        want(2);
        return args[0] !== args[1];
      case "version_atleast":
        want(1);
        return compareVersions(HAPROXY_VERSION, args[0]) >= 0;
      case "version_before":
        want(1);
        return compareVersions(HAPROXY_VERSION, args[0]) < 0;
    }
    throw new CondError(
      `unknown predicate '${name}' (HAProxy 2.6 knows defined, feature, streq, strneq, ` +
        `version_atleast, version_before)`,
      at,
    );
  }
}

/** HAProxy's version order: "2.4" < "2.4.1"; "2.4-dev19" is before "2.4". */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+(?:\.\d+)*)(?:-dev(\d+)|-(?:rc|pre)(\d+))?/.exec(v.trim());
    if (!m) return [0];
    const nums = m[1].split(".").map(Number);
    while (nums.length < 3) nums.push(0);
    // a development or release candidate version comes before the release
    nums.push(m[2] !== undefined || m[3] !== undefined ? -1 : 0);
    nums.push(Number(m[2] ?? m[3] ?? 0));
    return nums;
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
