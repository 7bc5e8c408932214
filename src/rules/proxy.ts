// A proxy's rules as the request path holds them: both phases compiled at load against the
// proxy's own ACLs (and the anonymous and predefined ones).
import { compileNamedAcls } from "../acl/compile.ts";
import type { CompileEnv } from "../acl/types.ts";
import type { AclLine, Diagnostic, RuleLine } from "../config/model.ts";
import { compileRules } from "./compile.ts";
import { monitorRule } from "./monitor.ts";
import type { Rule } from "./types.ts";

export interface ProxyRules {
  /** null: none (the request path skips them at the cost of one test). */
  request: Rule[] | null;
  response: Rule[] | null;
}

export interface RuleSource {
  acls?: readonly AclLine[];
  httpRequest?: readonly RuleLine[];
  httpResponse?: readonly RuleLine[];
  /** `monitor-uri` (frontends; defaults pass it down) and its `monitor fail` condition. */
  settings?: { monitorUri?: string };
  monitorFail?: RuleLine;
}

/** Compiles `p`'s rules; diagnostics (errors at FILE:LINE:COL) go to `out`. */
export function compileProxyRules(
  p: RuleSource,
  env: CompileEnv,
  out: Diagnostic[],
): ProxyRules & { failed: boolean } {
  const monitorUri = p.settings?.monitorUri;
  if (!p.httpRequest?.length && !p.httpResponse?.length && monitorUri === undefined) {
    return { request: null, response: null, failed: false };
  }
  // Named ACL problems are the router's to report.
  const { acls } = compileNamedAcls(p.acls ?? [], env, []);
  const req = compileRules(p.httpRequest, "request", acls, env, out);
  const res = compileRules(p.httpResponse, "response", acls, env, out);
  let request = req.rules;
  let failed = req.failed || res.failed;
  if (monitorUri !== undefined) {
    // HAProxy answers monitor requests before any http-request rule.
    const m = monitorRule(monitorUri, p.monitorFail, acls, env, out);
    if (m === null) failed = true;
    else if (!req.failed) request = [m, ...(request ?? [])];
  }
  return { request: failed ? null : request, response: res.rules, failed };
}
