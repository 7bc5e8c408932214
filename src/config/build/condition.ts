// Lists of conditional rules (use_backend, use-server, tcp-request content): the list itself,
// and each rule's `if:` / `unless:`, one of them, never both, with its text and where it starts
// (ACL errors point at the word at fault).
import type { Loc, SrcEntry, SrcNode } from "../model.ts";
import type { Reader } from "./reader.ts";
import { describe } from "./reader.ts";

/** The rules of a list key (`example` shows one in the error when it is not a list). */
export function ruleList(r: Reader, e: SrcEntry, where: string, example: string): SrcNode[] {
  if (e.value.kind === "seq") return e.value.items;
  r.error(
    e.value.loc,
    `${where}: expected a list of rules such as - ${example}, got ${describe(e.value)}`,
  );
  return [];
}

export interface RuleCondition {
  polarity: "if" | "unless";
  condition: string;
  loc: Loc;
}

/**
 * The rule's condition: undefined when it has none, null after an error (both given, or not a
 * string; reported at its place).
 */
export function ruleCondition(
  r: Reader,
  f: ReadonlyMap<string, SrcEntry>,
  at: string,
): RuleCondition | null | undefined {
  const ifE = f.get("if");
  const unlessE = f.get("unless");
  if (ifE && unlessE) {
    r.error(unlessE.keyLoc, `${at}: give either "if" or "unless", not both`);
    return null;
  }
  const e = ifE ?? unlessE;
  if (!e) return undefined;
  const polarity = ifE ? "if" : "unless";
  const condition = r.str(e, `${at}.${polarity}`);
  return condition === undefined ? null : { polarity, condition, loc: e.value.loc };
}
