// Running compiled rules on one message: in order, each whose condition holds; a header
// operation edits the lines and goes on, an answer ends the list (and the request).
import type { RouteContext } from "../acl/router.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { Answer, HeaderOp, Reply, Rule } from "./types.ts";

/**
 * Edits `lines` ([name, value] pairs; names compared case-insensitively). `lines` may be the
 * request's own header lines: the caller refreshes its lookup view afterwards.
 */
function edit(
  lines: [string, string][],
  op: HeaderOp,
  req: RequestInfo,
  ctx: RouteContext,
): void {
  if (op.kind !== "add") {
    // set and del remove every line of that name first.
    let j = 0;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i][0].toLowerCase() !== op.name) lines[j++] = lines[i];
    }
    lines.length = j;
    if (op.kind === "del") return;
  }
  lines.push([op.name, op.value(req, ctx)]);
}

/**
 * Runs rules on `lines`; returns the answer of the first final rule that applies (the
 * request then goes no further), else null. `changed` is called after each edit.
 */
export function runRules(
  rules: readonly Rule[],
  req: RequestInfo,
  ctx: RouteContext,
  lines: [string, string][],
  changed?: () => void,
): { answer: Answer; reply: Reply } | null {
  for (const r of rules) {
    if (r.test !== null && !r.test(req, ctx)) continue;
    const d = r.do;
    if ("make" in d) return { answer: d, reply: d.make(req, ctx) };
    edit(lines, d, req, ctx);
    changed?.(); // the lookup view must see the edit before the next condition runs
  }
  return null;
}
