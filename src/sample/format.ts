// A format string with samples, as in `use_backend be_%[req.hdr(host),lower]`: literal text and
// `%[EXPR]` parts (`%%` is a literal %). Compiled once; an expression that gives no sample makes
// the whole string unavailable (null), as HAProxy's dynamic use_backend then falls through.
import type { RequestInfo } from "../proxy/request.ts";
import type { RouteContext } from "../acl/router.ts";
import type { CompileEnv } from "../acl/types.ts";
import type { ConvEnv } from "./converters.ts";
import { compileSampleValue, SampleError, type SampleValue } from "./compile.ts";

export type FormatFn = (req: RequestInfo, ctx: RouteContext) => string | null;

/** Whether `text` holds a `%[...]` sample. */
export function hasSample(text: string): boolean {
  return text.includes("%[");
}

/** Compiles `text` (at `base` in its line). Throws SampleError. */
export function compileFormat(text: string, base = 0, env: CompileEnv & ConvEnv = {}): FormatFn {
  const parts: (string | SampleValue)[] = [];
  let lit = "";
  for (let i = 0; i < text.length;) {
    if (text[i] !== "%") {
      lit += text[i++];
      continue;
    }
    if (text[i + 1] === "%") {
      lit += "%";
      i += 2;
      continue;
    }
    if (text[i + 1] !== "[") {
      throw new SampleError(
        `'%${text[i + 1] ?? ""}': only %[sample] and %% are supported in this format`,
        base + i,
      );
    }
    // The expression ends at the ']' that closes it (brackets do not nest in HAProxy).
    const close = text.indexOf("]", i + 2);
    if (close < 0) throw new SampleError("missing ']' after '%['", base + i);
    if (lit) parts.push(lit);
    lit = "";
    parts.push(compileSampleValue(text.slice(i + 2, close), base + i + 2, env).fn);
    i = close + 1;
  }
  if (lit) parts.push(lit);
  return (req, ctx) => {
    let s = "";
    for (const p of parts) {
      if (typeof p === "string") s += p;
      else {
        const v = p(req, ctx);
        if (v === null) return null;
        s += typeof v === "boolean" ? (v ? "1" : "0") : String(v);
      }
    }
    return s;
  };
}
