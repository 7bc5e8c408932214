// String match methods: str (exact), sub, beg, end, dir, dom, len. `-i` folds case of both
// sides; patterns are folded once at load.
import { matchers, type MatchOptions, type Value } from "../types.ts";
import { compileIntPatterns } from "./int.ts";

function fold(patterns: readonly string[], opts: MatchOptions): string[] {
  return opts.ignoreCase ? patterns.map((p) => p.toLowerCase()) : [...patterns];
}

function stringMatcher(test: (sample: string, pattern: string) => boolean) {
  return {
    input: "str" as const,
    compile(patterns: readonly string[], opts: MatchOptions) {
      const pats = fold(patterns, opts);
      const ci = opts.ignoreCase;
      return (value: Value) => {
        const s = ci ? (value as string).toLowerCase() : value as string;
        for (const p of pats) if (test(s, p)) return true;
        return false;
      };
    },
  };
}

/** True if `p` occurs in `s` bounded on both sides by the start/end or one of `delims`. */
function wordMatch(s: string, p: string, delims: string): boolean {
  // HAProxy ignores the pattern's own leading/trailing delimiters.
  let a = 0;
  let b = p.length;
  while (a < b && delims.includes(p[a])) a++;
  while (b > a && delims.includes(p[b - 1])) b--;
  const word = p.slice(a, b);
  if (word === "") return false;
  for (let i = s.indexOf(word); i !== -1; i = s.indexOf(word, i + 1)) {
    const before = i === 0 || delims.includes(s[i - 1]);
    const end = i + word.length;
    const after = end === s.length || delims.includes(s[end]);
    if (before && after) return true;
  }
  return false;
}

matchers.set("str", {
  input: "str",
  compile(patterns, opts) {
    const set = new Set(fold(patterns, opts));
    return opts.ignoreCase
      ? (v) => set.has((v as string).toLowerCase())
      : (v) => set.has(v as string);
  },
});
matchers.set("sub", stringMatcher((s, p) => s.includes(p)));
matchers.set("beg", stringMatcher((s, p) => s.startsWith(p)));
matchers.set("end", stringMatcher((s, p) => s.endsWith(p)));
matchers.set("dir", stringMatcher((s, p) => wordMatch(s, p, "/?")));
matchers.set("dom", stringMatcher((s, p) => wordMatch(s, p, "/.?:")));
matchers.set("len", {
  input: "str",
  compile(patterns) {
    const test = compileIntPatterns(patterns);
    return (v) => test((v as string).length);
  },
});
