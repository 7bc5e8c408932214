// HAProxy's log-format strings as rules use them (`set-header X %[src]`): literal text plus
// `%[fetch(args),converter(args)...]` samples (src/sample/: the ACL fetches, converters such as
// iif, lower, upper, map), compiled once at load into one function. A sample that gives nothing
// prints as the empty string. Anything unsupported is an error at load that names it.
import type { CompileEnv } from "../acl/types.ts";
import type { Sample } from "../acl/types.ts";
import type { RouteContext } from "../acl/router.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { Problem } from "../acl/words.ts";
import { compileSampleValue, SampleError } from "../sample/compile.ts";

/** A compiled value: the text for this request. */
export type Format = (req: RequestInfo, ctx: RouteContext) => string;

/** A sample as text, as HAProxy prints it (booleans as 1/0; nothing as the empty string). */
function text(v: Sample): string {
  if (v === null) return "";
  if (typeof v === "boolean") return v ? "1" : "0";
  return String(v);
}

/** Compiles one `%[...]` expression starting at `offset` in the rule text. */
function compileSample(
  expr: string,
  offset: number,
  env: CompileEnv,
  problems: Problem[],
): ((req: RequestInfo, ctx: RouteContext) => string) | null {
  try {
    const fn = compileSampleValue(expr, offset, env).fn;
    return (req, ctx) => text(fn(req, ctx)).replace(/[\r\n]/g, "");
  } catch (err) {
    if (!(err instanceof SampleError)) throw err;
    problems.push({
      severity: "error",
      message: `'%[${expr}]': ${err.message}`,
      offset: err.offset,
    });
    return null;
  }
}

/**
 * Compiles a log-format string. `offset` is where it starts in the rule text (for problems).
 * Returns a constant when it has no sample (the common case costs nothing per request).
 */
export function compileFormat(
  s: string,
  offset: number,
  env: CompileEnv,
  problems: Problem[],
): Format | null {
  const pieces: (string | ((req: RequestInfo, ctx: RouteContext) => string))[] = [];
  let lit = "";
  let ok = true;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "%" && s[i + 1] === "%") {
      lit += "%";
      i++;
    } else if (c === "%" && s[i + 1] === "[") {
      const end = s.indexOf("]", i + 2);
      if (end === -1) {
        problems.push({ severity: "error", message: `missing ']' after '%['`, offset: offset + i });
        return null;
      }
      if (lit) pieces.push(lit);
      lit = "";
      const fn = compileSample(s.slice(i + 2, end), offset + i + 2, env, problems);
      if (fn) pieces.push(fn);
      else ok = false;
      i = end;
    } else if (c === "%") {
      problems.push({
        severity: "error",
        message: `unsupported log-format variable at '${s.slice(i, i + 4)}': only %[sample] ` +
          `and %% are supported in rule values`,
        offset: offset + i,
      });
      ok = false;
    } else lit += c;
  }
  if (!ok) return null;
  if (lit) pieces.push(lit);
  if (pieces.length === 0) return () => "";
  if (pieces.length === 1 && typeof pieces[0] === "string") {
    const k = pieces[0];
    return () => k;
  }
  return (req, ctx) => {
    let out = "";
    for (const p of pieces) out += typeof p === "string" ? p : p(req, ctx);
    return out;
  };
}

/** True when the format has no sample (its value is known at load). */
export function isConstant(s: string): boolean {
  return !s.includes("%[");
}
