// The generic readers every section uses: typed values with FILE:LINE:COL diagnostics, known
// keys, named maps, addresses, durations; and the messages' helpers (describe, suggest).
import type { Diagnostic, Loc, Millis, SrcEntry, SrcMap, SrcNode } from "../model.ts";
import { AddressError, parseAddress } from "../address.ts";
import type { AddressOptions } from "../address.ts";
import { DurationError, parseDuration } from "../duration.ts";
import { HINTS, NAME_RE } from "./schema.ts";

export class Reader {
  readonly diagnostics: Diagnostic[] = [];
  /** Paths whose value was refused (an error): later checks do not report them missing. */
  readonly failed = new Set<string>();
  constructor(readonly file: string) {}

  error(loc: Loc, message: string): void {
    this.diagnostics.push({
      file: loc.file,
      line: loc.line,
      col: loc.col,
      severity: "error",
      message,
    });
  }
  warn(loc: Loc, message: string): void {
    this.diagnostics.push({
      file: loc.file,
      line: loc.line,
      col: loc.col,
      severity: "warning",
      message,
    });
  }

  map(node: SrcNode, where: string): SrcMap | null {
    if (node.kind === "map") return node;
    this.error(node.loc, `${where}: expected a map of "key: value" lines, got ${describe(node)}`);
    return null;
  }

  /** Checks the keys of `m` (unknown, duplicate) and returns the first entry of each. */
  fields(m: SrcMap, allowed: string[], where: string, path: string): Map<string, SrcEntry> {
    const out = new Map<string, SrcEntry>();
    for (const e of m.entries) {
      const prev = out.get(e.key);
      if (prev) {
        this.error(
          e.keyLoc,
          `duplicate key "${path}${e.key}" (first given at line ${prev.keyLoc.line})`,
        );
        continue;
      }
      if (!allowed.includes(e.key)) {
        this.error(e.keyLoc, unknownKey(e.key, allowed, where));
        continue;
      }
      out.set(e.key, e);
    }
    return out;
  }

  /** Entries of a name -> thing map, with duplicate names reported. */
  named(node: SrcNode, what: string, path: string): SrcEntry[] {
    const m = this.map(node, path);
    if (!m) return [];
    const seen = new Map<string, SrcEntry>();
    const out: SrcEntry[] = [];
    for (const e of m.entries) {
      const prev = seen.get(e.key);
      if (prev) {
        this.error(
          e.keyLoc,
          `${what} '${e.key}' has the same name as the ${what} declared at line ${prev.keyLoc.line}`,
        );
        continue;
      }
      seen.set(e.key, e);
      out.push(e);
    }
    return out;
  }

  str(e: SrcEntry | undefined, path: string): string | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "string") {
      if (v.value.trim() === "") {
        this.error(v.loc, `${path}: must not be empty`);
        return undefined;
      }
      return v.value.trim();
    }
    if (v.kind === "scalar" && typeof v.value === "number") return String(v.value);
    this.error(v.loc, `${path}: expected a string, got ${describe(v)}`);
    return undefined;
  }

  bool(e: SrcEntry | undefined, path: string): boolean | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "boolean") return v.value;
    this.error(v.loc, `${path}: expected true or false, got ${describe(v)}`);
    return undefined;
  }

  int(e: SrcEntry | undefined, path: string, min: number, max: number): number | undefined {
    if (!e) return undefined;
    const v = e.value;
    let n: number | undefined;
    if (v.kind === "scalar" && typeof v.value === "number") n = v.value;
    else if (v.kind === "scalar" && typeof v.value === "string" && /^\s*\d+\s*$/.test(v.value)) {
      n = Number(v.value);
    }
    if (n === undefined || !Number.isInteger(n)) {
      this.error(v.loc, `${path}: expected a whole number, got ${describe(v)}`);
      return undefined;
    }
    if (n < min || n > max) {
      this.error(v.loc, `${path}: ${n} is out of range (${min} to ${max})`);
      return undefined;
    }
    return n;
  }

  duration(e: SrcEntry | undefined, path: string): Millis | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v.kind !== "scalar" || (typeof v.value !== "string" && typeof v.value !== "number")) {
      this.error(
        v.loc,
        `${path}: expected a duration such as 5000, "1500ms" or "5s", got ${describe(v)}`,
      );
      return undefined;
    }
    try {
      return parseDuration(v.value);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      this.error(v.loc, `${path}: ${err.message}`);
      return undefined;
    }
  }

  address(node: SrcNode, path: string, opts: AddressOptions) {
    if (node.kind !== "scalar" || typeof node.value !== "string") {
      this.error(
        node.loc,
        `${path}: expected an address such as "127.0.0.1:8080", got ${describe(node)}`,
      );
      return undefined;
    }
    try {
      return { text: node.value.trim(), address: parseAddress(node.value, opts) };
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      this.error(node.loc, `${path}: ${err.message}`);
      return undefined;
    }
  }

  oneOf<T extends string>(
    e: SrcEntry | undefined,
    path: string,
    values: readonly T[],
  ): T | undefined {
    const s = this.str(e, path);
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return s as T;
    const near = suggest(s, values);
    this.error(
      e!.value.loc,
      `${path}: unknown value "${s}"${near ? ` (did you mean "${near}"?)` : ""}; expected one of ${
        values.join(", ")
      }`,
    );
    return undefined;
  }

  checkName(e: SrcEntry, what: string): void {
    if (e.key === "") this.error(e.keyLoc, `a ${what} needs a name`);
    else if (!NAME_RE.test(e.key)) {
      const bad = [...e.key].find((c) => !/[A-Za-z0-9_.:-]/.test(c));
      this.error(
        e.keyLoc,
        `character '${bad}' is not permitted in ${what} name '${e.key}' (letters, digits, '-', '_', '.' and ':' are)`,
      );
    }
  }

  positiveDuration(e: SrcEntry | undefined, path: string): Millis | undefined {
    const ms = this.duration(e, path);
    if (ms === 0) {
      this.error(e!.value.loc, `${path}: must be greater than 0`);
      return undefined;
    }
    return ms;
  }
}

export function describe(node: SrcNode): string {
  if (node.kind === "map") return "a map";
  if (node.kind === "seq") return "a list";
  const v = node.value;
  if (v === null) return "nothing";
  if (typeof v === "string") return `"${v}"`;
  return String(v);
}

function unknownKey(key: string, allowed: string[], where: string): string {
  const hint = HINTS[key];
  const near = suggest(key, allowed);
  const tail = near
    ? ` (did you mean "${near}"?)`
    : hint
    ? ` (${hint})`
    : ` (expected one of: ${allowed.join(", ")})`;
  return `unknown key "${key}" in ${where}${tail}`;
}

/** The closest candidate, if close enough to be a typo (or the same word with _ for -). */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, "-");
  let best: string | null = null;
  let bestDist = Infinity;
  for (const c of candidates) {
    if (norm(c) === norm(word)) return c;
    const d = levenshtein(norm(word), norm(c));
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  if (bestDist <= limit) return best;
  // A clipped word ("warn" for "warning") is a near miss too.
  return candidates.find((c) => word.length >= 3 && norm(c).startsWith(norm(word))) ?? null;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
