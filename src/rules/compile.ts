// `http-request` / `http-response` rules compiled once at load: each rule's words parsed with
// HAProxy's syntax, its condition through the ACL room, its values through sample.ts. What
// the request path runs is a list of closures (run.ts); a proxy without rules has none.
import type { Test } from "../acl/acl.ts";
import { report } from "../acl/compile.ts";
import { compileCondition } from "../acl/condition.ts";
import type { CompileEnv } from "../acl/types.ts";
import { type Problem, splitWords, type Word, WordsError } from "../acl/words.ts";
import type { Diagnostic, RuleLine } from "../config/model.ts";
import { DENY_STATUSES, denyPage, reasonPhrase } from "./pages.ts";
import { compileFormat, type Format } from "./sample.ts";
import type { Answer, HeaderOp, Rule } from "./types.ts";

const REQUEST_ACTIONS = [
  "redirect",
  "set-header",
  "add-header",
  "del-header",
  "deny",
  "return",
  "use-service",
];
const RESPONSE_ACTIONS = ["set-header", "add-header", "del-header", "deny"];
const REDIRECT_CODES = [301, 302, 303, 307, 308];
/** Header names: RFC 9110 tokens. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

class RuleProblem extends Error {
  constructor(message: string, readonly word: Word) {
    super(message);
  }
}

/** The rule's action and arguments, the condition apart. */
interface Parsed {
  words: Word[];
  test: Test | null;
}

function parseWords(
  line: RuleLine,
  acls: ReadonlyMap<string, Test>,
  env: CompileEnv,
  problems: Problem[],
): Parsed | null {
  let words: Word[];
  try {
    words = splitWords(line.text);
  } catch (err) {
    if (!(err instanceof WordsError)) throw err;
    problems.push({ severity: "error", message: err.message, offset: err.offset });
    return null;
  }
  const ci = words.findIndex((w, i) => i > 0 && (w.text === "if" || w.text === "unless"));
  if (ci === -1) return { words, test: null };
  const pol = words[ci];
  if (ci === words.length - 1) {
    problems.push({ severity: "error", message: `no condition after '${pol.text}'`, offset: 0 });
    return null;
  }
  const start = words[ci + 1].offset;
  const condProblems: Problem[] = [];
  const cond = compileCondition(line.text.slice(start), acls, env, condProblems);
  for (const p of condProblems) problems.push({ ...p, offset: p.offset + start });
  if (!cond) return null;
  return {
    words: words.slice(0, ci),
    test: pol.text === "unless" ? (req, ctx) => !cond(req, ctx) : cond,
  };
}

function need(words: Word[], i: number, what: string): Word {
  const w = words[i];
  if (!w) throw new RuleProblem(`'${words[i - 1].text}' expects ${what}`, words[i - 1]);
  return w;
}

function statusOf(w: Word, allowed?: readonly number[]): number {
  const n = /^\d{3}$/.test(w.text) ? Number(w.text) : NaN;
  if (!(n >= 200 && n <= 599) || (allowed && !allowed.includes(n))) {
    throw new RuleProblem(
      `invalid status '${w.text}'` + (allowed ? ` (one of ${allowed.join(", ")})` : ""),
      w,
    );
  }
  return n;
}

function format(w: Word, env: CompileEnv, problems: Problem[]): Format {
  const f = compileFormat(w.text, w.offset, env, problems);
  if (!f) throw new RuleProblem("", w); // already reported
  return f;
}

function headerName(w: Word): string {
  if (!TOKEN.test(w.text)) throw new RuleProblem(`invalid header name '${w.text}'`, w);
  return w.text.toLowerCase();
}

function headerRule(words: Word[], env: CompileEnv, problems: Problem[]): HeaderOp {
  const action = words[0].text as "set-header" | "add-header" | "del-header";
  const name = headerName(need(words, 1, "a header name"));
  if (action === "del-header") {
    if (words[2]?.text === "-m") {
      const m = need(words, 3, "a match method");
      if (m.text !== "str") {
        throw new RuleProblem(`'del-header -m ${m.text}' is not supported (only -m str)`, m);
      }
      words = words.slice(0, 2).concat(words.slice(4));
    }
    if (words.length > 2) throw new RuleProblem(`unexpected '${words[2].text}'`, words[2]);
    return { kind: "del", name };
  }
  const value = format(need(words, 2, "a value"), env, problems);
  if (words.length > 3) {
    throw new RuleProblem(
      `unexpected '${words[3].text}' (quote a value that has spaces)`,
      words[3],
    );
  }
  return { kind: action === "set-header" ? "set" : "add", name, value };
}

function redirectRule(words: Word[], env: CompileEnv, problems: Problem[]): Answer {
  const type = need(words, 1, "location, prefix or scheme");
  if (!["location", "prefix", "scheme"].includes(type.text)) {
    throw new RuleProblem(
      `'redirect' expects 'location', 'prefix' or 'scheme', got '${type.text}'`,
      type,
    );
  }
  const dest = format(need(words, 2, `a ${type.text}`), env, problems);
  let code = 302;
  let dropQuery = false;
  let appendSlash = false;
  for (let i = 3; i < words.length; i++) {
    const w = words[i];
    if (w.text === "code") code = statusOf(need(words, ++i, "a status"), REDIRECT_CODES);
    else if (w.text === "drop-query") dropQuery = true;
    else if (w.text === "append-slash") appendSlash = true;
    else if (w.text === "set-cookie" || w.text === "clear-cookie") {
      throw new RuleProblem(`'redirect ... ${w.text}' is not supported`, w);
    } else throw new RuleProblem(`'redirect': unknown option '${w.text}'`, w);
  }
  // HAProxy: no Cache-Control on permanent redirects (301, 308).
  const fixed = `cache-control: no-cache\r\n`;
  const cache = code === 301 || code === 308 ? "" : fixed;
  const reason = reasonPhrase(code);
  const kind = type.text as "location" | "prefix" | "scheme";
  return {
    kind: "redirect",
    make(req, ctx) {
      let uri = req.target.charCodeAt(0) === 47
        ? req.target
        : req.path + (req.query === null ? "" : `?${req.query}`);
      if (kind !== "location" && dropQuery) {
        const q = uri.indexOf("?");
        if (q !== -1) uri = uri.slice(0, q);
        if (appendSlash && !uri.endsWith("/")) uri += "/";
      }
      let location: string;
      if (kind === "location") location = dest(req, ctx);
      else if (kind === "prefix") {
        const p = dest(req, ctx);
        location = p === "/" ? uri : p + uri;
      } else location = `${dest(req, ctx)}://${req.headers.get("host") ?? ""}${uri}`;
      return {
        status: code,
        reason,
        lines: `location: ${location.replace(/[\r\n]/g, "")}\r\n${cache}`,
        body: EMPTY,
        closes: false,
      };
    },
  };
}

const EMPTY = new Uint8Array(0);

function denyRule(words: Word[], dflt: number): Answer {
  let status = dflt;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w.text === "deny_status" || w.text === "status") {
      status = statusOf(need(words, ++i, "a status"));
    } else throw new RuleProblem(`'deny': unknown option '${w.text}'`, w);
  }
  const page = denyPage(status);
  if (!page) {
    throw new RuleProblem(
      `status ${status} has no default page (one of ${DENY_STATUSES.join(", ")})`,
      words[words.length - 1],
    );
  }
  return { kind: "deny", make: () => page };
}

function returnRule(words: Word[], env: CompileEnv, problems: Problem[]): Answer {
  let status = 200;
  let type: string | null = null;
  let body: Format | null = null;
  const hdrs: [string, Format][] = [];
  let bodyWord: Word | null = null;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w.text === "status") status = statusOf(need(words, ++i, "a status"));
    else if (w.text === "content-type") type = need(words, ++i, "a content type").text;
    else if (w.text === "string") {
      const s = need(words, ++i, "a string").text;
      body = () => s; // literal, as in HAProxy (lf-string expands samples)
      bodyWord = w;
    } else if (w.text === "lf-string") {
      body = format(need(words, ++i, "a log-format string"), env, problems);
      bodyWord = w;
    } else if (w.text === "hdr") {
      const name = headerName(need(words, ++i, "a header name"));
      hdrs.push([name, format(need(words, ++i, "a header value"), env, problems)]);
    } else if (w.text === "errorfile" || w.text === "errorfiles" || w.text === "file") {
      throw new RuleProblem(`'return ... ${w.text}' is not supported (use string)`, w);
    } else if (w.text === "default-errorfiles") {
      throw new RuleProblem(`'return ... default-errorfiles' is not supported`, w);
    } else throw new RuleProblem(`'return': unknown option '${w.text}'`, w);
  }
  if (body && type === null) {
    throw new RuleProblem(`'return' with a body needs a 'content-type'`, bodyWord!);
  }
  const bodiless = status === 204 || status === 304;
  if (body && bodiless) throw new RuleProblem(`a ${status} answer has no body`, bodyWord!);
  const reason = reasonPhrase(status);
  const encoder = new TextEncoder();
  return {
    kind: "return",
    make(req, ctx) {
      let lines = type !== null ? `content-type: ${type}\r\n` : "";
      for (const [n, v] of hdrs) lines += `${n}: ${v(req, ctx)}\r\n`;
      return {
        status,
        reason,
        lines,
        body: body ? encoder.encode(body(req, ctx)) : EMPTY,
        closes: false,
        bodiless,
      };
    },
  };
}

const PROMETHEUS_TYPE = "content-type: text/plain; version=0.0.4; charset=utf-8\r\n";

/** `use-service prometheus-exporter`: the proxy's Prometheus text (the admin /metrics one). */
function serviceRule(words: Word[]): Answer {
  const name = need(words, 1, "a service name");
  if (name.text !== "prometheus-exporter") {
    throw new RuleProblem(
      `'use-service ${name.text}' is not supported (only prometheus-exporter)`,
      name,
    );
  }
  if (words.length > 2) throw new RuleProblem(`unexpected '${words[2].text}'`, words[2]);
  const encoder = new TextEncoder();
  return {
    kind: "service",
    make: (_req, ctx) => ({
      status: 200,
      reason: "OK",
      lines: PROMETHEUS_TYPE,
      body: encoder.encode(ctx.metrics?.() ?? ""),
      closes: false,
    }),
  };
}

function compileOne(
  words: Word[],
  phase: "request" | "response",
  env: CompileEnv,
  problems: Problem[],
): Rule["do"] {
  const action = words[0];
  const allowed = phase === "request" ? REQUEST_ACTIONS : RESPONSE_ACTIONS;
  if (!allowed.includes(action.text)) {
    throw new RuleProblem(
      `'http-${phase} ${action.text}' is not supported (supported: ${allowed.join(", ")})`,
      action,
    );
  }
  switch (action.text) {
    case "redirect":
      return redirectRule(words, env, problems);
    case "deny":
      // HAProxy: a denied response is a 502.
      return denyRule(words, phase === "request" ? 403 : 502);
    case "return":
      return returnRule(words, env, problems);
    case "use-service":
      return serviceRule(words);
    default:
      return headerRule(words, env, problems);
  }
}

/**
 * Compiles the rules of one proxy and phase; problems go to `diagnostics` at FILE:LINE:COL.
 * Returns null when there are no rules (the request path then does nothing at all), or when
 * one has an error (`failed` tells which).
 */
export function compileRules(
  lines: readonly RuleLine[] | undefined,
  phase: "request" | "response",
  acls: ReadonlyMap<string, Test>,
  env: CompileEnv,
  diagnostics: Diagnostic[],
): { rules: Rule[] | null; failed: boolean } {
  if (!lines || lines.length === 0) return { rules: null, failed: false };
  const out: Rule[] = [];
  let failed = false;
  for (const line of lines) {
    const problems: Problem[] = [];
    const parsed = parseWords(line, acls, env, problems);
    let rule: Rule | null = null;
    if (parsed && parsed.words.length === 0) {
      problems.push({ severity: "error", message: "missing action", offset: 0 });
    } else if (parsed) {
      try {
        rule = { test: parsed.test, do: compileOne(parsed.words, phase, env, problems) };
      } catch (err) {
        if (!(err instanceof RuleProblem)) throw err;
        if (err.message) {
          problems.push({ severity: "error", message: err.message, offset: err.word.offset });
        }
      }
    }
    const what = `http-${phase} ${line.text.split(/\s/, 1)[0]}`;
    report(diagnostics, line.loc, problems, what);
    if (!rule || problems.some((p) => p.severity === "error")) failed = true;
    else out.push(rule);
  }
  return failed ? { rules: null, failed } : { rules: out, failed };
}
