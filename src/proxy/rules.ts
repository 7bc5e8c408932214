// The rules on the request path: http-request rules edit the request head (and its lookup
// view) or answer it; http-response rules edit the server's answer before it is relayed.
import type { RouteContext } from "../acl/router.ts";
import type { ClientExchange } from "../downstream/types.ts";
import { runRules } from "../rules/run.ts";
import type { Reply, Rule } from "../rules/types.ts";
import type { RequestInfo } from "./request.ts";

/** The log's termination state: `deny` is a block (P), the others a local answer (L). */
function termination(kind: string, phase: "R" | "H"): string {
  return `${kind === "deny" ? "P" : "L"}${phase}--`;
}

/**
 * Runs http-request rules; when one answers, `end` logs it (status, termination, bytes), the
 * answer is sent and true is returned (the request goes no further).
 */
export async function requestRules(
  rules: readonly Rule[],
  ctx: RouteContext,
  info: RequestInfo,
  ex: ClientExchange,
  end: (status: number, termination: string, bytes: number) => void,
): Promise<boolean> {
  const head = ex.head;
  const r = runRules(rules, info, ctx, head.lines, () => head.headers.invalidate());
  if (r === null) return false;
  end(r.reply.status, termination(r.answer.kind, "R"), replyBytes(r.reply));
  await sendReply(ex, r.reply);
  return true;
}

/**
 * Runs http-response rules on the server's header lines (`lines` is edited in place); a
 * `deny` gives the page that replaces the answer, with its termination state.
 */
export function responseRules(
  rules: readonly Rule[],
  ctx: RouteContext,
  info: RequestInfo,
  lines: [string, string][],
): { reply: Reply; termination: string } | null {
  const r = runRules(rules, info, ctx, lines);
  return r === null ? null : { reply: r.reply, termination: termination(r.answer.kind, "H") };
}

function replyBytes(r: Reply): number {
  return 40 + r.reason.length + r.lines.length + r.body.length;
}

/** Sends an answer of wtproxy's own. */
export async function sendReply(ex: ClientExchange, r: Reply): Promise<void> {
  try {
    // An unread request body cannot be skipped safely: say the connection closes (HAProxy too).
    if (r.closes || (ex.body !== null && !ex.body.ended)) ex.closeAfterAnswer();
    if (r.bodiless) {
      await ex.sendHead(r.status, r.reason, r.lines, { kind: "none" });
      await ex.end();
    } else await ex.sendWhole(r.status, r.reason, r.lines, r.body);
  } catch { /* client gone */ }
}
