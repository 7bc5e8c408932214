// Persistence: HAProxy's cookie persistence (`cookie NAME insert ...` + server `cookie VALUE`,
// src/persist/cookie.ts); stick tables and the other persistence keywords are not implemented
// (wtproxy keeps Wt sessions on their server by URL affinity).
import type { Family, ProxyLine } from "./types.ts";
import { e } from "./types.ts";
import type { Cfg } from "../context.ts";
import { parseCookie } from "../../build/cookie.ts";

export const PERSISTENCE: Family = {
  sections: {
    peers: "wtproxy has no stick tables to synchronise",
  },
  proxyDirectives: { cookie, "dynamic-cookie-key": dynamicCookieKey },
  proxy: {
    appsession: {
      level: "error",
      why: "appsession was removed in HAProxy 1.6: use 'cookie NAME prefix' or URL affinity",
    },
    "stick-table": { level: "error", why: "stick tables are not supported" },
    stick: { level: "error", why: "stickiness rules are not supported" },
    persist: { level: "error", why: "persistence is not supported" },
    "force-persist": { level: "error", why: "persistence is not supported" },
    "ignore-persist": { level: "error", why: "persistence is not supported" },
  },
  options: {
    persist: e("be", "persistence is not supported"),
  },
  server: {
    "non-stick": { kind: "flag", unsupported: { level: "warn", why: "there are no stick tables" } },
    cookie: { kind: "value", key: "cookie", type: "string" },
  },
};

/** `cookie NAME [insert|rewrite|prefix] [indirect] [nocache] ...`: checked in HAProxy's words
 * here, stored as the backend's `cookie:` text (build/cookie.ts reads it). */
function cookie(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, capable, set } = x;
  if (!capable("be", "cookie")) return;
  if (!args[0]) {
    c.error(kwLoc, `'cookie' expects <cookie_name> as argument.`);
    return;
  }
  const text = c.restText(l, args);
  const loc = c.at(l, args[0]);
  const { problems } = parseCookie(text, loc);
  const errors = problems.filter((p) => p.severity === "error");
  for (const p of errors) {
    c.error(p.offset === 0 ? kwLoc : { ...loc, col: loc.col + p.offset }, p.message);
  }
  if (errors.length) return;
  set("cookie", c.scalar(text, loc), kwLoc, "be");
}

/** `dynamic-cookie-key KEY`: the secret dynamic cookie values are derived from. */
function dynamicCookieKey(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, capable, set } = x;
  if (!capable("be", "dynamic-cookie-key")) return;
  if (!args[0]) {
    c.error(kwLoc, `'dynamic-cookie-key' expects <key> as argument.`);
    return;
  }
  set("dynamic-cookie-key", c.strNode(l, args[0]), kwLoc, "be");
}
