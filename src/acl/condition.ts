// `if`/`unless` conditions: space = AND, `||` or `or` = OR (AND binds tighter), `!` = NOT,
// `{ fetch ... }` = anonymous ACL. No parentheses, as in HAProxy. Compiled to one closure
// that short-circuits like HAProxy's lazy evaluation.
import { compileAclWords, type Test } from "./acl.ts";
import type { CompileEnv } from "./types.ts";
import { type Problem, splitWords, type Word, WordsError } from "./words.ts";

/** HAProxy's predefined ACLs, usable without declaring them (a declared name wins). */
export const PREDEFINED_ACLS: Record<string, string> = {
  TRUE: "always_true",
  FALSE: "always_false",
  LOCALHOST: "src 127.0.0.1/8 ::1",
  HTTP_1_0: "req.ver 1.0",
  "HTTP_1.0": "req.ver 1.0",
  "HTTP_1.1": "req.ver 1.1",
  HTTP_CONTENT: "hdr_val(content-length) gt 0",
  HTTP_URL_ABS: "url_reg ^[^/:]*://",
  HTTP_URL_SLASH: "url_beg /",
  HTTP_URL_STAR: "url *",
  METH_CONNECT: "method CONNECT",
  METH_DELETE: "method DELETE",
  METH_GET: "method GET HEAD",
  METH_HEAD: "method HEAD",
  METH_OPTIONS: "method OPTIONS",
  METH_POST: "method POST",
  METH_PUT: "method PUT",
  METH_TRACE: "method TRACE",
  REQ_CONTENT: "req.len gt 0",
  RDP_COOKIE: "always_false",
  WAIT_END: "always_false",
};

interface Term {
  negate: boolean;
  test: Test;
}

/**
 * Compiles a condition. `acls` holds the frontend's named ACLs (already ORed per name).
 * Problems carry offsets into `text`; returns null when the condition has an error.
 */
export function compileCondition(
  text: string,
  acls: ReadonlyMap<string, Test>,
  env: CompileEnv,
  problems: Problem[],
): Test | null {
  let words: Word[];
  try {
    words = splitWords(text);
  } catch (err) {
    if (!(err instanceof WordsError)) throw err;
    problems.push({ severity: "error", message: err.message, offset: err.offset });
    return null;
  }
  if (words.length === 0) {
    problems.push({ severity: "error", message: "empty condition", offset: 0 });
    return null;
  }
  const groups: Term[][] = [[]];
  let ok = true;
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    if (w.text === "||" || w.text === "or") {
      if (groups[groups.length - 1].length === 0) {
        problems.push({
          severity: "error",
          message: `'${w.text}' without a term before it`,
          offset: w.offset,
        });
        ok = false;
      }
      groups.push([]);
      continue;
    }
    let negate = false;
    while (w.text.startsWith("!")) {
      negate = !negate;
      if (w.text.length > 1) w = { text: w.text.slice(1), offset: w.offset + 1 };
      else if (i + 1 < words.length) w = words[++i];
      else {
        problems.push({
          severity: "error",
          message: "'!' without an ACL after it",
          offset: w.offset,
        });
        return null;
      }
    }
    let test: Test | null | undefined;
    if (w.text === "{") {
      const start = i + 1;
      let end = start;
      while (end < words.length && words[end].text !== "}") end++;
      if (end >= words.length) {
        problems.push({
          severity: "error",
          message: "missing '}' for anonymous ACL",
          offset: w.offset,
        });
        return null;
      }
      if (end === start) {
        problems.push({
          severity: "error",
          message: "empty anonymous ACL '{ }'",
          offset: w.offset,
        });
        ok = false;
      } else test = compileAclWords(words.slice(start, end), env, problems);
      i = end;
    } else if (w.text === "}") {
      problems.push({ severity: "error", message: "'}' without '{'", offset: w.offset });
      ok = false;
      continue;
    } else {
      test = acls.get(w.text) ?? predefined(w.text, env);
      if (!test) {
        problems.push({ severity: "error", message: `unknown ACL '${w.text}'`, offset: w.offset });
        ok = false;
        continue;
      }
    }
    if (!test) {
      ok = false;
      continue;
    }
    groups[groups.length - 1].push({ negate, test });
  }
  if (groups[groups.length - 1].length === 0 && ok) {
    problems.push({
      severity: "error",
      message: "condition ends with an operator",
      offset: text.length,
    });
    ok = false;
  }
  if (!ok) return null;
  return orOf(groups.map(andOf));
}

function predefined(name: string, env: CompileEnv): Test | null {
  const text = PREDEFINED_ACLS[name];
  if (!text) return null;
  return compileAclWords(splitWords(text), env, []);
}

function termTest(t: Term): Test {
  const test = t.test;
  return t.negate ? (req, ctx) => !test(req, ctx) : test;
}

function andOf(terms: Term[]): Test {
  const tests = terms.map(termTest);
  if (tests.length === 1) return tests[0];
  return (req, ctx) => {
    for (const t of tests) if (!t(req, ctx)) return false;
    return true;
  };
}

/** ORs tests in order, stopping at the first true one. */
export function orOf(tests: readonly Test[]): Test {
  if (tests.length === 1) return tests[0];
  return (req, ctx) => {
    for (const t of tests) if (t(req, ctx)) return true;
    return false;
  };
}
