// `monitor-uri URI` and `monitor fail if|unless COND` (HAProxy): a request for URI is answered
// by the frontend itself, before its http-request rules: 200 "Service ready.", or 503 when the
// fail condition holds (e.g. `if { nbsrv(app) lt 1 }`). URI starting with "/" matches the path.
import type { Test } from "../acl/acl.ts";
import { compileCondition } from "../acl/condition.ts";
import type { CompileEnv } from "../acl/types.ts";
import type { Problem } from "../acl/words.ts";
import { report } from "../acl/compile.ts";
import type { Diagnostic, RuleLine } from "../config/model.ts";
import { denyPage } from "./pages.ts";
import type { Rule } from "./types.ts";

/** The monitor as a first http-request rule; null (reported) when its condition is wrong. */
export function monitorRule(
  uri: string,
  fail: RuleLine | undefined,
  acls: ReadonlyMap<string, Test>,
  env: CompileEnv,
  diagnostics: Diagnostic[],
): Rule | null {
  let failing: Test | null = null;
  if (fail) {
    const problems: Problem[] = [];
    const m = /^(if|unless)\s+/.exec(fail.text);
    if (!m) {
      problems.push({
        severity: "error",
        message: "expects 'if' or 'unless' and a condition",
        offset: 0,
      });
    } else {
      const cond = compileCondition(fail.text.slice(m[0].length), acls, env, problems);
      if (cond) failing = m[1] === "unless" ? (req, ctx) => !cond(req, ctx) : cond;
      for (const p of problems) p.offset += m[0].length;
    }
    report(diagnostics, fail.loc, problems, "monitor fail");
    if (!failing) return null;
  }
  const ok = denyPage(200)!;
  const down = denyPage(503)!;
  const byPath = uri.startsWith("/");
  return {
    test: byPath ? (req) => req.path === uri : (req) => req.target === uri,
    do: {
      kind: "return",
      make: (req, ctx) => (failing !== null && failing(req, ctx) ? down : ok),
    },
  };
}
