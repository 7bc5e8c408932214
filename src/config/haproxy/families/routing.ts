// Routing: acl, use_backend, use-server (default_backend is a plain setting, in proxy.ts).
import type { SrcEntry, SrcMap } from "../../model.ts";
import type { Cfg } from "../context.ts";
import type { Family, ProxyLine } from "./types.ts";

export const ROUTING: Family = {
  proxyDirectives: { acl, use_backend: useBackend, "use-server": useServer },
  proxyOnly: ["acl", "use_backend", "use-server"],
};

function acl(c: Cfg, x: ProxyLine) {
  const { l, p, kwLoc, args } = x;
  if (p === null) return;
  if (!args[0] || !args[1]) {
    c.error(
      kwLoc,
      `'acl' expects an ACL name and a criterion (e.g. 'acl srv1 url_sub wtd=wt1').`,
    );
    return;
  }
  p.acls.push({
    name: args[0].text,
    nameLoc: c.at(l, args[0]),
    text: c.restText(l, args.slice(1)),
    textLoc: c.at(l, args[1]),
    comment: c.takeComment(l),
  });
}

function useBackend(c: Cfg, x: ProxyLine) {
  const { l, p, kwLoc, args, capable } = x;
  if (!capable("fe", "use_backend")) return;
  if (!args[0]) {
    c.error(kwLoc, `'use_backend' expects a backend name.`);
    return;
  }
  const entries: SrcEntry[] = [{
    key: "backend",
    keyLoc: c.at(l, args[0]),
    value: c.strNode(l, args[0]),
  }];
  if (args[1]) {
    const pol = args[1].text;
    if (pol !== "if" && pol !== "unless") {
      c.error(
        c.at(l, args[1]),
        `'use_backend ${args[0].text}' : expects 'if' or 'unless' followed by a ` +
          `condition, got '${pol}'.`,
      );
      return;
    }
    if (!args[2]) {
      c.error(
        c.at(l, args[1]),
        `'use_backend ${args[0].text} ${pol}' : no condition after '${pol}'.`,
      );
      return;
    }
    entries.push({
      key: pol,
      keyLoc: c.at(l, args[1]),
      value: c.scalar(c.restText(l, args.slice(2)), c.at(l, args[2])),
    });
  } else {
    // no condition: the rule always matches (HAProxy's predefined ACL TRUE)
    entries.push({
      key: "if",
      keyLoc: c.at(l, args[0]),
      value: c.scalar("TRUE", c.at(l, args[0])),
    });
  }
  const node: SrcMap = { kind: "map", entries, loc: kwLoc, comment: c.takeComment(l) };
  p!.useBackend.push({ keyLoc: kwLoc, node });
}

/** `use-server NAME if|unless COND` (a condition is required, as in HAProxy). */
function useServer(c: Cfg, x: ProxyLine) {
  const { l, p, kwLoc, args, capable } = x;
  if (!capable("be", "use-server")) return;
  if (!args[0]) {
    c.error(kwLoc, `'use-server' expects a server name.`);
    return;
  }
  const pol = args[1]?.text;
  if ((pol !== "if" && pol !== "unless") || !args[2]) {
    c.error(
      args[1] ? c.at(l, args[1]) : kwLoc,
      `'use-server' requires either 'if' or 'unless' followed by a condition.`,
    );
    return;
  }
  const node: SrcMap = {
    kind: "map",
    entries: [
      { key: "server", keyLoc: c.at(l, args[0]), value: c.strNode(l, args[0]) },
      {
        key: pol,
        keyLoc: c.at(l, args[1]),
        value: c.scalar(c.restText(l, args.slice(2)), c.at(l, args[2])),
      },
    ],
    loc: kwLoc,
    comment: c.takeComment(l),
  };
  p!.useServer.push({ keyLoc: kwLoc, node });
}
