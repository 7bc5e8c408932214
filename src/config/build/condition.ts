// The `if:` / `unless:` of a rule map (use_backend, use-server, tcp-request content): one of
// them, never both; its text and where it starts (ACL errors point at the word at fault).
import type { Loc, SrcEntry } from "../model.ts";
import type { Reader } from "./reader.ts";

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
