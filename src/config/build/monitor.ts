// `monitor-fail: "if COND"` on a frontend (HAProxy's `monitor fail if|unless COND`): the
// monitor-uri answers 503 while it holds. Compiled with the frontend's rules (src/rules/monitor.ts).
import type { FrontendConfig } from "../model.ts";
import { describe } from "./reader.ts";
import type { SectionRule } from "./rules.ts";

export const FRONTEND_MONITOR: SectionRule<FrontendConfig> = {
  keys: ["monitor-fail"],
  read(r, f, path, out) {
    const e = f.get("monitor-fail");
    if (!e) return;
    const v = e.value;
    if (v.kind !== "scalar" || typeof v.value !== "string" || !/^(if|unless)\s+\S/.test(v.value)) {
      r.error(
        v.loc,
        `${path}.monitor-fail: expected "if CONDITION" or "unless CONDITION", got ${describe(v)}`,
      );
      return;
    }
    out.monitorFail = { text: v.value, loc: v.loc };
  },
};
