// Compiles a sample expression (`FETCH(ARGS),CONV(ARGS)...`) to a function, once at load.
// The fetches are the ACL room's (src/acl/fetches/), the converters src/sample/converters.ts.
// In an ACL a multi-valued fetch (hdr) gives every value, each converted; elsewhere (a
// `%[...]` in use_backend or a rule) it gives the last one, as HAProxy does.
import type { RequestInfo } from "../proxy/request.ts";
import type { RouteContext } from "../acl/router.ts";
import { AclError, type CompileEnv, fetches, type Sample, type SampleType } from "../acl/types.ts";
import "../acl/builtins.ts";
import { type ConvEnv, converters, type ConvFn, supportedConverters } from "./converters.ts";
import { parseSampleExpr, type SampleCall, SampleSyntaxError } from "./expr.ts";
import { unknownFetchMessage } from "../config/haproxy/families/haproxy26.ts";

/** A problem at `offset` in the text the expression came from. */
export class SampleError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "SampleError";
  }
}

/** One value per request (sample context). */
export type SampleValue = (req: RequestInfo, ctx: RouteContext) => Sample;

/** Compiles the converters of an expression to one function (identity when none). */
export function compileConverters(
  calls: readonly SampleCall[],
  env: ConvEnv,
): { fn: ConvFn | null; output: SampleType | null } {
  const fns: ConvFn[] = [];
  let output: SampleType | null = null;
  for (const c of calls) {
    const conv = converters.get(c.name);
    if (!conv) {
      throw new SampleError(
        `converter '${c.name}' is not supported by wtproxy (supported: ${supportedConverters()})`,
        c.offset,
      );
    }
    if (c.args.length < conv.minArgs || c.args.length > conv.maxArgs) {
      const want = conv.minArgs === conv.maxArgs
        ? `${conv.minArgs}`
        : `${conv.minArgs} to ${conv.maxArgs}`;
      throw new SampleError(
        `converter '${c.name}' takes ${want} argument(s), got ${c.args.length}`,
        c.offset,
      );
    }
    try {
      fns.push(conv.compile(c.args, env));
    } catch (err) {
      if (!(err instanceof AclError)) throw err;
      const ai = err.where.argIndex;
      throw new SampleError(
        err.message,
        ai !== undefined ? c.argOffsets[ai] ?? c.offset : c.offset,
      );
    }
    output = conv.output;
  }
  if (fns.length === 0) return { fn: null, output };
  if (fns.length === 1) return { fn: fns[0], output };
  return {
    fn: (s) => {
      let v = s;
      for (const f of fns) {
        if (v === null) return null;
        v = f(v);
      }
      return v;
    },
    output,
  };
}

/**
 * Compiles `text` (starting at `base` in its line) for a sample context: one value per request.
 * Throws SampleError.
 */
export function compileSampleValue(
  text: string,
  base: number,
  env: CompileEnv & ConvEnv = {},
): { fn: SampleValue; type: SampleType } {
  let expr;
  try {
    expr = parseSampleExpr(text, base);
  } catch (err) {
    if (err instanceof SampleSyntaxError) throw new SampleError(err.message, err.offset);
    throw err;
  }
  const f = expr.fetch;
  const fetch = fetches.get(f.name);
  if (!fetch) throw new SampleError(unknownFetchMessage(f.name), f.offset);
  if (f.args.length < fetch.minArgs || f.args.length > fetch.maxArgs) {
    throw new SampleError(`fetch '${f.name}' takes a different number of arguments`, f.offset);
  }
  let sample;
  try {
    sample = fetch.compile(f.args, env);
  } catch (err) {
    if (!(err instanceof AclError)) throw err;
    const ai = err.where.argIndex;
    throw new SampleError(err.message, ai !== undefined ? f.argOffsets[ai] ?? f.offset : f.offset);
  }
  const { fn: conv, output } = compileConverters(expr.converters, env);
  const one: SampleValue = fetch.multi
    ? (req, ctx) => {
      const all = sample(req, ctx) as readonly Sample[];
      return all.length ? all[all.length - 1] : null;
    }
    : (req, ctx) => sample(req, ctx) as Sample;
  const fn: SampleValue = conv
    ? (req, ctx) => {
      const v = one(req, ctx);
      return v === null ? null : conv(v);
    }
    : one;
  return { fn, type: output ?? fetch.type };
}
