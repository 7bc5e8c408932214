// `stats` in a proxy: the stats page on the proxy's own listeners (`listen stats` sections),
// read into the proxy's `stats:` map (build/stats.ts, src/admin/listen.ts). In `global`,
// `stats socket|timeout|maxconn` stay warnings: wtproxy's runtime API is on the admin listener.
import type { Cfg } from "../context.ts";
import type { Family, ProxyLine } from "./types.ts";

export const STATS: Family = {
  global: {
    stats: {
      level: "warn",
      why: "wtproxy serves stats and runtime commands on the admin listener",
    },
  },
  proxyDirectives: { stats },
};

/** Sub-keywords that only change what HAProxy's page shows: accepted, ignored with a warning. */
const COSMETIC: Record<string, string> = {
  scope: "the page shows every proxy",
  "bind-process": "there is one process",
};

function stats(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, set } = x;
  const sub = args[0];
  if (!sub) {
    c.error(
      kwLoc,
      `'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'realm', 'refresh', ` +
        `'scope', 'show-desc', 'show-legends', 'show-node' or 'uri'.`,
    );
    return;
  }
  const subLoc = c.at(l, sub);
  const arg = args[1];
  const key = (k: string) => `stats.${k}`;
  const need = (what: string): boolean => {
    if (arg) return true;
    c.error(subLoc, `'stats ${sub.text}' needs ${what}.`);
    return false;
  };
  switch (sub.text) {
    case "enable":
      set(key("enable"), c.scalar(true, subLoc), kwLoc, "both");
      return;
    case "uri":
      if (need("an URI prefix")) set(key("uri"), c.strNode(l, arg), kwLoc, "both");
      return;
    case "realm":
      if (need("a realm name")) {
        set(
          key("realm"),
          c.scalar(c.restText(l, args.slice(1)).replace(/\\ /g, " "), c.at(l, arg)),
          kwLoc,
          "both",
        );
      }
      return;
    case "refresh":
      if (need("a delay")) set(key("refresh"), c.durationNode(l, arg), kwLoc, "both");
      return;
    case "auth": {
      if (!need("a user:password")) return;
      if (!arg.text.includes(":")) {
        c.error(c.at(l, arg), `'stats auth' : missing password for user '${arg.text}'.`);
        return;
      }
      // several lines: a list (each proxy's own lines after its defaults')
      const prev = x.settings.get(key("auth"));
      const items = prev && prev.node.kind === "seq" ? [...prev.node.items] : [];
      items.push(c.scalar(arg.text, c.at(l, arg)));
      set(key("auth"), { kind: "seq", items, loc: c.at(l, arg) }, kwLoc, "both");
      return;
    }
    case "admin": {
      const pol = arg?.text;
      if ((pol !== "if" && pol !== "unless") || !args[2]) {
        c.error(subLoc, `'stats admin' requires either 'if' or 'unless' followed by a condition.`);
        return;
      }
      set(key("admin"), c.scalar(c.restText(l, args.slice(1)), c.at(l, arg)), kwLoc, "both");
      return;
    }
    case "hide-version":
    case "show-legends":
      set(key(sub.text), c.scalar(true, subLoc), kwLoc, "both");
      return;
    case "show-node":
    case "show-desc":
      // alone: `true` (show-node then shows the host name)
      set(
        key(sub.text),
        arg ? c.scalar(c.restText(l, args.slice(1)), c.at(l, arg)) : c.scalar(true, subLoc),
        kwLoc,
        "both",
      );
      return;
    case "socket":
    case "timeout":
    case "maxconn":
      c.error(subLoc, `'stats ${sub.text}' is only allowed in 'global' section.`);
      return;
    case "http-request":
      c.error(
        subLoc,
        `'stats http-request' is not supported by wtproxy: use 'stats auth' and 'stats admin'.`,
      );
      return;
  }
  if (sub.text in COSMETIC) {
    c.warn(
      subLoc,
      `'stats ${sub.text}' is not supported by wtproxy and is ignored: ${COSMETIC[sub.text]}.`,
    );
    return;
  }
  c.error(
    subLoc,
    `'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'realm', 'refresh', 'scope', ` +
      `'show-desc', 'show-legends', 'show-node' or 'uri', got '${sub.text}'.`,
  );
}
