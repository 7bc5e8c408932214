// `use-server NAME if|unless COND` (HAProxy's server rules): evaluated in order before cookie
// persistence and balancing; the first rule whose condition holds and whose server is not
// stopped (DOWN or MAINT; DRAIN and NOLB servers still take it, as persistence does) names the
// server. A rule whose server is stopped is skipped and the next ones are tried; when none
// applies, the request goes on to the cookie and the balancer. Compiled once at load.
import type { AclLine, Diagnostic, UseServerRule } from "../config/model.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { RouteContext } from "../acl/router.ts";
import { compileNamedAcls, report } from "../acl/compile.ts";
import { compileCondition } from "../acl/condition.ts";
import type { CompileEnv } from "../acl/types.ts";
import type { Problem } from "../acl/words.ts";
import type { ServerRef } from "./selector.ts";

/** The server the rules name for `req`, or undefined (go on with cookie and balancing). */
export type UseServer = (req: RequestInfo, ctx: RouteContext) => ServerRef | undefined;

/** A rule compiled: its server's name and its test (the condition with its polarity). */
export interface UseServerTest {
  server: string;
  test: (req: RequestInfo, ctx: RouteContext) => boolean;
}

/**
 * Compiles a backend's rules against its own ACLs; problems go to `out` (FILE:LINE:COL on the
 * word at fault; `-c` runs this alone). null when one of them failed.
 */
export function compileUseServerTests(
  backend: { acls?: readonly AclLine[]; useServer?: readonly UseServerRule[] },
  env: CompileEnv,
  out: Diagnostic[],
): UseServerTest[] | null {
  const rules = backend.useServer ?? [];
  if (rules.length === 0) return [];
  // Named ACL problems are reported with the backend's rules (config/build/http_rules.ts).
  const { acls } = compileNamedAcls(backend.acls ?? [], env, []);
  const tests: UseServerTest[] = [];
  let failed = false;
  for (const rule of rules) {
    const problems: Problem[] = [];
    const cond = compileCondition(rule.condition, acls, env, problems);
    report(out, rule.loc, problems, `use-server ${rule.server} ${rule.polarity}`);
    if (!cond) {
      failed = true;
      continue;
    }
    const test = rule.polarity === "unless"
      ? (req: RequestInfo, ctx: RouteContext) => !cond(req, ctx)
      : cond;
    tests.push({ server: rule.server, test });
  }
  return failed ? null : tests;
}

/** The rules bound to the backend's servers (null: no rule). */
export function useServerOf(
  tests: readonly UseServerTest[],
  servers: readonly ServerRef[],
): UseServer | null {
  if (tests.length === 0) return null;
  // The names were checked at load: each one is a server of the backend.
  const rules = tests.map((t) => ({
    ref: servers.find((s) => s.config.name === t.server)!,
    test: t.test,
  }));
  return (req, ctx) => {
    for (const r of rules) {
      if (r.test(req, ctx) && !r.ref.state.stopped) return r.ref;
    }
    return undefined;
  };
}
