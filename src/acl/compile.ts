// A frontend's `acl` lines and `use_backend` rules compiled once into a Router.
import {
  type AclLine,
  ConfigError,
  type Diagnostic,
  type FrontendConfig,
  type Loc,
} from "../config/model.ts";
import type { RequestInfo } from "../proxy/request.ts";
import { compileAclWords, type Test } from "./acl.ts";
import { compileCondition, orOf } from "./condition.ts";
import type { RouteContext, Router } from "./router.ts";
import type { CompileEnv } from "./types.ts";
import { type Problem, splitWords, WordsError } from "./words.ts";
import { compileFormat, type FormatFn, hasSample } from "../sample/format.ts";
import { SampleError } from "../sample/compile.ts";

const ACL_NAME = /^[A-Za-z0-9_.:-]+$/;

/**
 * Position of `offset` characters into a text whose first character is at `loc` (AclLine and
 * UseBackendRule locs point at the start of their text / condition).
 */
export function at(loc: Loc, offset: number): Loc {
  return { file: loc.file, line: loc.line, col: loc.col + offset };
}

export function report(out: Diagnostic[], loc: Loc, problems: Problem[], what: string): void {
  for (const p of problems) {
    out.push({ ...at(loc, p.offset), severity: p.severity, message: `${what}: ${p.message}` });
  }
}

export interface CompiledContentRule {
  action: "accept" | "reject";
  test: Test;
  negate: boolean;
}

export interface CompiledFrontend {
  /** Backend name for the request, or null; undefined if the frontend has errors. */
  route?: (req: RequestInfo, ctx: RouteContext) => string | null;
  /** `tcp-request content` rules (mode tcp). */
  content?: CompiledContentRule[];
  diagnostics: Diagnostic[];
}

/**
 * Compiles a proxy's `acl` lines into named tests (the same name on several lines ORs);
 * `failed` when one of them has an error (its name still resolves, to a stub).
 */
export function compileNamedAcls(
  lines: readonly AclLine[],
  env: CompileEnv,
  diagnostics: Diagnostic[],
): { acls: Map<string, Test>; failed: boolean } {
  const byName = new Map<string, Test[]>();
  let failed = false;
  for (const line of lines) {
    if (!ACL_NAME.test(line.name)) {
      diagnostics.push({
        ...line.loc,
        severity: "error",
        message: `acl '${line.name}': invalid name (letters, digits, '-', '_', '.', ':')`,
      });
      failed = true;
      continue;
    }
    const problems: Problem[] = [];
    let test: Test | null = null;
    try {
      test = compileAclWords(splitWords(line.text), env, problems);
    } catch (err) {
      if (!(err instanceof WordsError)) throw err;
      problems.push({ severity: "error", message: err.message, offset: err.offset });
    }
    report(diagnostics, line.loc, problems, `acl '${line.name}'`);
    if (!test) {
      failed = true;
      continue;
    }
    const tests = byName.get(line.name) ?? [];
    tests.push(test);
    byName.set(line.name, tests);
  }
  // Same name on several lines ORs, in declaration order.
  const acls = new Map<string, Test>();
  for (const [name, tests] of byName) acls.set(name, orOf(tests));
  // A name whose line failed must not be reported again as unknown: give it a stub.
  for (const line of lines) {
    if (!acls.has(line.name)) acls.set(line.name, () => false);
  }
  return { acls, failed };
}

/** Compiles and checks every ACL and rule of a frontend, collecting all diagnostics. */
export function compileFrontend(frontend: FrontendConfig, env: CompileEnv = {}): CompiledFrontend {
  const diagnostics: Diagnostic[] = [];
  const named = compileNamedAcls(frontend.acls, env, diagnostics);
  const acls = named.acls;
  let failed = named.failed;

  const rules: { backend: string; dynamic: FormatFn | null; test: Test }[] = [];
  for (const rule of frontend.useBackend) {
    const problems: Problem[] = [];
    const cond = compileCondition(rule.condition, acls, env, problems);
    report(diagnostics, rule.loc, problems, `use_backend ${rule.backend} ${rule.polarity}`);
    let dynamic: FormatFn | null = null;
    if (hasSample(rule.backend)) {
      try {
        dynamic = compileFormat(rule.backend, 0, env);
      } catch (err) {
        if (!(err instanceof SampleError)) throw err;
        const p = { severity: "error" as const, message: err.message, offset: err.offset };
        report(diagnostics, rule.backendLoc ?? rule.loc, [p], `use_backend ${rule.backend}`);
        failed = true;
      }
    }
    if (!cond) {
      failed = true;
      continue;
    }
    rules.push({
      backend: rule.backend,
      dynamic,
      test: rule.polarity === "unless" ? (req, ctx) => !cond(req, ctx) : cond,
    });
  }
  const content: CompiledContentRule[] = [];
  for (const rule of frontend.tcpRequest?.content ?? []) {
    if (rule.polarity === null) {
      content.push({ action: rule.action, test: () => true, negate: false });
      continue;
    }
    const problems: Problem[] = [];
    const cond = compileCondition(rule.condition, acls, env, problems);
    report(diagnostics, rule.loc, problems, `tcp-request content ${rule.action} ${rule.polarity}`);
    if (!cond) {
      failed = true;
      continue;
    }
    content.push({ action: rule.action, test: cond, negate: rule.polarity === "unless" });
  }
  if (failed) return { diagnostics };

  const fallback = frontend.defaultBackend;
  const known = env.backendNames;
  return {
    diagnostics,
    content,
    route(req, ctx) {
      for (const r of rules) {
        if (!r.test(req, ctx)) continue;
        if (r.dynamic === null) return r.backend;
        // HAProxy: a dynamic name that is no backend ends the rules: the default backend.
        const name = r.dynamic(req, ctx);
        return name !== null && (!known || known.has(name)) ? name : fallback;
      }
      return fallback;
    },
  };
}

/** The proxy's entry point: throws ConfigError if the frontend's ACLs or rules have errors. */
export function compileRouter(
  frontend: FrontendConfig,
  ctx: RouteContext,
  env: CompileEnv = {},
): Router {
  const compiled = compileFrontend(frontend, env);
  if (!compiled.route) {
    throw new ConfigError(compiled.diagnostics.filter((d) => d.severity === "error"));
  }
  const route = compiled.route;
  const content = (compiled.content ?? []).map((r) => ({
    action: r.action,
    negate: r.negate,
    test: (req: RequestInfo) => r.test(req, ctx),
  }));
  return { route: (req) => route(req, ctx), content };
}
