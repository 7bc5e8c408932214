// `global.wt-sessions` (wtproxy only): the live Wt session table (src/session/). `true` takes
// Wt's defaults; a map may name the session parameter, Wt's session timeout and the cap.
//   wt-sessions: { param: wtd, timeout: 600s, max: 100000 }
import type { GlobalSection, SrcEntry } from "../model.ts";
import type { Reader } from "./reader.ts";
import { describe } from "./reader.ts";
import type { SectionRule } from "./rules.ts";

export const WT_SESSION_KEYS = ["param", "timeout", "max"];
const PARAM_RE = /^[A-Za-z0-9_.~-]+$/;

export const WT_SESSIONS: SectionRule<GlobalSection> = {
  keys: ["wt-sessions"],
  read(r: Reader, f: Map<string, SrcEntry>, path: string, out: GlobalSection) {
    const e = f.get("wt-sessions");
    if (!e) return;
    const where = `${path}.wt-sessions`;
    const v = e.value;
    const on = { param: "wtd", timeout: 600_000, max: 100_000, loc: e.keyLoc };
    if (v.kind === "scalar") {
      if (v.value === true) out.wtSessions = on;
      else if (v.value === false || v.value === null) out.wtSessions = null;
      else {
        r.error(
          v.loc,
          `${where}: expected true, false or { param, timeout, max }, got ${describe(v)}`,
        );
      }
      return;
    }
    const m = r.map(v, where);
    if (!m) return;
    const g = r.fields(m, WT_SESSION_KEYS, where, `${where}.`);
    const param = r.str(g.get("param"), `${where}.param`);
    if (param !== undefined && !PARAM_RE.test(param)) {
      r.error(
        g.get("param")!.value.loc,
        `${where}.param: "${param}" is not a URL parameter name (Wt's is wtd)`,
      );
    }
    const timeout = r.positiveDuration(g.get("timeout"), `${where}.timeout`);
    const max = r.int(g.get("max"), `${where}.max`, 1, 10_000_000);
    out.wtSessions = {
      param: param ?? on.param,
      timeout: timeout ?? on.timeout,
      max: max ?? on.max,
      loc: e.keyLoc,
    };
  },
};
