// `tcp-request inspect-delay DURATION` and `tcp-request content accept|reject [if|unless COND]`
// (mode tcp frontends); `tcp-request connection|session` and the other actions are refused.
import type { SrcEntry, SrcNode } from "../../model.ts";
import type { Cfg } from "../context.ts";
import type { Family, ProxyLine } from "./types.ts";

export const TCP_REQUEST: Family = {
  proxyDirectives: { "tcp-request": tcpRequest },
  proxyOnly: ["tcp-request"],
};

function tcpRequest(c: Cfg, x: ProxyLine) {
  const { l, args, kwLoc, settings, set } = x;
  const sub = args[0]?.text ?? "";
  const subLoc = args[0] ? c.at(l, args[0]) : kwLoc;
  if (sub === "inspect-delay") {
    if (!x.capable("fe", "tcp-request inspect-delay")) return;
    if (!args[1]) {
      c.error(subLoc, `'tcp-request inspect-delay' expects a positive delay in milliseconds.`);
      return;
    }
    if (!c.noExtra(l, "tcp-request inspect-delay", 2)) return;
    set("tcp-request.inspect-delay", c.durationNode(l, args[1]), subLoc, "fe");
    return;
  }
  if (sub === "content") {
    if (!x.capable("fe", "tcp-request content")) return;
    const action = args[1]?.text ?? "";
    if (action !== "accept" && action !== "reject") {
      c.error(
        args[1] ? c.at(l, args[1]) : subLoc,
        action === ""
          ? `'tcp-request content' expects an action such as 'accept' or 'reject'.`
          : `'tcp-request content ${action}' is not supported by wtproxy (only 'accept' and ` +
            `'reject', with 'if'/'unless' conditions).`,
      );
      return;
    }
    const entries: SrcEntry[] = [
      { key: "action", keyLoc: c.at(l, args[1]), value: c.strNode(l, args[1]) },
    ];
    const pol = args[2];
    if (pol) {
      if (pol.text !== "if" && pol.text !== "unless") {
        c.error(
          c.at(l, pol),
          `'tcp-request content ${action}' expects 'if', 'unless' or nothing, got '${pol.text}'.`,
        );
        return;
      }
      if (!args[3]) {
        c.error(c.at(l, pol), `'tcp-request content ${action} ${pol.text}' expects a condition.`);
        return;
      }
      const cond = c.restText(l, args.slice(3));
      entries.push({
        key: pol.text,
        keyLoc: c.at(l, pol),
        value: c.scalar(cond, c.at(l, args[3])),
      });
    }
    const prev = settings.get("tcp-request.content");
    const items: SrcNode[] = prev?.node.kind === "seq" ? [...prev.node.items] : [];
    items.push({ kind: "map", entries, loc: subLoc });
    const at = prev?.keyLoc ?? subLoc;
    set("tcp-request.content", { kind: "seq", items, loc: at }, at, "fe");
    return;
  }
  if (sub === "connection" || sub === "session") {
    c.error(
      subLoc,
      `'tcp-request ${sub}' rules are not supported by wtproxy (only 'tcp-request ` +
        `inspect-delay' and 'tcp-request content accept|reject').`,
    );
    return;
  }
  c.error(
    subLoc,
    `'tcp-request' expects 'inspect-delay', 'connection', 'session' or 'content', got '${sub}'.`,
  );
}
