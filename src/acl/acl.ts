// One ACL test, `FETCH [flags] [operator] VALUE...`, compiled to a closure at load.
import type { RequestInfo } from "../proxy/request.ts";
import type { RouteContext } from "./router.ts";
import {
  AclError,
  type CompileEnv,
  type Fetch,
  fetches,
  type Matcher,
  matchers,
  matchSuffixes,
  type Sample,
  type SampleType,
  type Value,
} from "./types.ts";
import type { Problem, Word } from "./words.ts";
import "./builtins.ts";
import { parseSampleExpr, SampleSyntaxError } from "../sample/expr.ts";
import { unknownFetchMessage } from "../config/haproxy/families/haproxy26.ts";
import { compileConverters, SampleError } from "../sample/compile.ts";
import type { ConvEnv, ConvFn } from "../sample/converters.ts";

export type Test = (req: RequestInfo, ctx: RouteContext) => boolean;

const DEFAULT_MATCH: Record<SampleType, string> = {
  str: "str",
  int: "int",
  ip: "ip",
  bool: "bool",
};

/** Resolves `path_beg` to the `path` fetch with the `beg` matcher, or a fetch to its default. */
export function resolveKeyword(name: string): { fetch: Fetch; match: string } | null {
  const fetch = fetches.get(name);
  if (fetch) return { fetch, match: DEFAULT_MATCH[fetch.type] };
  const us = name.lastIndexOf("_");
  if (us <= 0) return null;
  const match = matchSuffixes.get(name.slice(us + 1));
  const base = fetches.get(name.slice(0, us));
  if (!match || !base) return null;
  return { fetch: base, match };
}

function toInt(v: Sample): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  const m = /^\s*[+-]?\d+/.exec(v as string);
  return m ? Number(m[0]) : null;
}

/** Converts a sample to the matcher's input type once, or null when it cannot be. */
function converter(input: SampleType): (v: Sample) => Value | null {
  switch (input) {
    case "int":
      return toInt;
    case "bool":
      return (v) =>
        typeof v === "boolean" ? v : typeof v === "number" ? v !== 0 : v !== "" && v !== null;
    default:
      return (v) => (typeof v === "string" ? v : v === null ? null : String(v));
  }
}

/**
 * Compiles the words of one ACL (without its name). Problems are pushed with offsets taken
 * from the words; returns null when it cannot be compiled.
 */
export function compileAclWords(
  words: readonly Word[],
  env: CompileEnv & ConvEnv,
  problems: Problem[],
): Test | null {
  if (words.length === 0) {
    problems.push({ severity: "error", message: "missing fetch", offset: 0 });
    return null;
  }
  const head = words[0];
  // FETCH(ARGS)[,CONVERTER(ARGS)]... (src/sample/expr.ts)
  let expr;
  try {
    expr = parseSampleExpr(head.text, head.offset);
  } catch (err) {
    if (!(err instanceof SampleSyntaxError)) throw err;
    problems.push({ severity: "error", message: err.message, offset: err.offset });
    return null;
  }
  const name = expr.fetch.name;
  const resolved = resolveKeyword(name);
  if (!resolved) {
    problems.push({ severity: "error", message: unknownFetchMessage(name), offset: head.offset });
    return null;
  }
  const { fetch } = resolved;
  if (fetch.caveat) {
    problems.push({
      severity: "warning",
      message: `${name}: ${fetch.caveat}`,
      offset: head.offset,
    });
  }
  let matchName = resolved.match;
  const args = expr.fetch.args;
  const argOffsets = expr.fetch.argOffsets;
  if (args.length < fetch.minArgs || args.length > fetch.maxArgs) {
    const want = fetch.minArgs === fetch.maxArgs
      ? `${fetch.minArgs}`
      : `${fetch.minArgs} to ${fetch.maxArgs}`;
    problems.push({
      severity: "error",
      message: `fetch '${name}' takes ${want} argument(s), got ${args.length}`,
      offset: head.offset,
    });
    return null;
  }
  let conv: ConvFn | null = null;
  if (expr.converters.length) {
    try {
      const c = compileConverters(expr.converters, env);
      conv = c.fn;
      // A plain fetch's default match follows the converted type (`,map_int(...)` -> int).
      if (fetches.has(name) && c.output) matchName = DEFAULT_MATCH[c.output];
    } catch (err) {
      if (!(err instanceof SampleError)) throw err;
      problems.push({ severity: "error", message: err.message, offset: err.offset });
      return null;
    }
  }

  // Flags: -i, -m METHOD, -n, -u ID, --.
  let ignoreCase = false;
  let i = 1;
  for (; i < words.length && words[i].text.startsWith("-"); i++) {
    const f = words[i].text;
    if (f === "--") {
      i++;
      break;
    } else if (f === "-i") ignoreCase = true;
    else if (f === "-n") continue;
    else if (f === "-m" || f === "-u") {
      const next = words[i + 1];
      if (!next) {
        problems.push({
          severity: "error",
          message: `flag '${f}' needs a value`,
          offset: words[i].offset,
        });
        return null;
      }
      if (f === "-m") {
        if (!matchers.has(next.text)) {
          problems.push({
            severity: "error",
            message: `unknown match method '${next.text}' (known: ${
              [...matchers.keys()].join(", ")
            })`,
            offset: next.offset,
          });
          return null;
        }
        matchName = next.text;
      }
      i++;
    } else if (f === "-f") {
      problems.push({
        severity: "error",
        message: "pattern files (-f) are not supported; write the values inline",
        offset: words[i].offset,
      });
      return null;
    } else {
      problems.push({ severity: "error", message: `unknown flag '${f}'`, offset: words[i].offset });
      return null;
    }
  }
  const patternWords = words.slice(i);
  const patterns = patternWords.map((w) => w.text);
  const matcher: Matcher = matchers.get(matchName)!;

  let fetched;
  try {
    fetched = fetch.compile(args, env);
  } catch (err) {
    if (!(err instanceof AclError)) throw err;
    const ai = err.where.argIndex;
    problems.push({
      severity: "error",
      message: err.message,
      offset: ai !== undefined && argOffsets[ai] !== undefined ? argOffsets[ai] : head.offset,
    });
    return null;
  }

  if (matcher.noPatterns) {
    if (patterns.length > 0) {
      problems.push({
        severity: "error",
        message: `match method '${matchName}' takes no value, got '${patterns[0]}'`,
        offset: patternWords[0].offset,
      });
      return null;
    }
  } else if (patterns.length === 0) {
    problems.push({
      severity: "warning",
      message: `no value to match '${name}' against: this ACL never matches`,
      offset: head.offset,
    });
    return () => false;
  }

  let match;
  try {
    match = matcher.compile(patterns, { ignoreCase });
  } catch (err) {
    if (!(err instanceof AclError)) throw err;
    const pi = err.where.patternIndex;
    problems.push({
      severity: "error",
      message: err.message,
      offset: pi !== undefined ? patternWords[pi].offset : head.offset,
    });
    return null;
  }

  const toInput = converter(matcher.input);
  // Converters run on each value (in an ACL a multi-valued fetch gives them all).
  const c = conv;
  const sample: typeof fetched = c === null
    ? fetched
    : fetch.multi
    ? (req, ctx) => (fetched(req, ctx) as readonly Sample[]).map((v) => v === null ? null : c(v))
    : (req, ctx) => {
      const v = fetched(req, ctx) as Sample;
      return v === null ? null : c(v);
    };
  if (fetch.multi) {
    return (req, ctx) => {
      const all = sample(req, ctx) as readonly Sample[];
      for (const s of all) {
        if (s === null) continue;
        const v = toInput(s);
        if (v !== null && match(v)) return true;
      }
      return false;
    };
  }
  return (req, ctx) => {
    const s = sample(req, ctx) as Sample;
    if (s === null) return false;
    const v = toInput(s);
    return v !== null && match(v);
  };
}
