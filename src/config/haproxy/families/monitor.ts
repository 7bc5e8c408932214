// `monitor-uri URI` (defaults, frontend, listen) and `monitor fail if|unless COND` (frontend,
// listen): answered by the frontend itself (src/rules/monitor.ts). `monitor-net` stays refused.
import type { ProxyRec } from "../context.ts";
import type { Family } from "./types.ts";

/** Proxies that already have a `monitor fail` (wtproxy keeps one condition). */
const HAS_FAIL = new WeakSet<ProxyRec>();

export const MONITOR: Family = {
  proxyDirectives: {
    "monitor-uri": (c, x) => {
      if (!x.capable("fe", "monitor-uri")) return;
      if (!x.args[0] || x.args.length > 1) {
        return c.error(x.kwLoc, `'monitor-uri' expects an URI.`);
      }
      c.takeComment(x.l);
      x.set("monitor-uri", c.strNode(x.l, x.args[0]), x.kwLoc, "fe");
    },
    monitor: (c, x) => {
      if (!x.capable("fe", "monitor")) return;
      const [sub, pol] = x.args;
      if (sub?.text !== "fail" || (pol?.text !== "if" && pol?.text !== "unless") || !x.args[2]) {
        return c.error(
          x.kwLoc,
          `'monitor' expects 'fail' and either 'if' or 'unless' followed by a condition.`,
        );
      }
      const p = x.p!;
      if (HAS_FAIL.has(p)) {
        return c.error(
          x.kwLoc,
          `a second 'monitor fail' is not supported by wtproxy: join the conditions in one line with '||'.`,
        );
      }
      HAS_FAIL.add(p);
      c.takeComment(x.l);
      const node = c.scalar(c.restText(x.l, x.args.slice(1)), c.at(x.l, pol));
      x.set("monitor-fail", node, x.kwLoc, "fe");
    },
  },
  proxyOnly: ["monitor"],
};
