// frontends: `tcp-request: { inspect-delay, content: [{ action: accept|reject, if|unless }] }`
// (HAProxy's `tcp-request inspect-delay` and `tcp-request content accept|reject`).
import type { FrontendConfig, TcpContentRule } from "../model.ts";
import type { SectionRule } from "./rules.ts";
import { ruleCondition } from "./condition.ts";

export const TCP_REQUEST: SectionRule<FrontendConfig> = {
  keys: ["tcp-request"],
  read(r, f, path, out) {
    const e = f.get("tcp-request");
    if (!e) return;
    const where = `${path}.tcp-request`;
    const m = r.map(e.value, where);
    if (!m) return;
    const tf = r.fields(m, ["inspect-delay", "content"], where, `${where}.`);
    const delay = r.duration(tf.get("inspect-delay"), `${where}.inspect-delay`);
    const content: TcpContentRule[] = [];
    const ce = tf.get("content");
    const items = ce ? (ce.value.kind === "seq" ? ce.value.items : [ce.value]) : [];
    for (const [i, item] of items.entries()) {
      const p = `${where}.content[${i}]`;
      const im = r.map(item, p);
      if (!im) continue;
      const cf = r.fields(im, ["action", "if", "unless"], p, "");
      const action = r.oneOf(cf.get("action"), `${p}.action`, ["accept", "reject"]);
      if (!cf.has("action")) r.error(im.loc, `${p}: missing "action" (accept or reject)`);
      const cond = ruleCondition(r, cf, p);
      if (action === undefined || cond === null) continue;
      content.push({
        action: action as "accept" | "reject",
        polarity: cond?.polarity ?? null,
        condition: cond?.condition ?? "",
        loc: cond?.loc ?? im.loc,
      });
    }
    if (out.settings.mode !== "tcp") {
      r.error(
        e.keyLoc,
        `${where}: tcp-request rules need mode tcp (an HTTP frontend routes on the request; ` +
          `use acls and use_backend)`,
      );
    }
    if (content.length > 0 && !delay) {
      r.warn(
        e.keyLoc,
        `${where}: content rules without inspect-delay see no data (HAProxy: 'a 'tcp-request ` +
          `content' rule ... without 'tcp-request inspect-delay'); set inspect-delay, e.g. 5s`,
      );
    }
    out.tcpRequest = { inspectDelay: delay || null, content };
  },
};
