// Cookie and stick-table persistence: not implemented (wtproxy keeps Wt sessions on
// their server by URL affinity).
import type { Family } from "./types.ts";
import { e, pe, pw } from "./types.ts";

export const PERSISTENCE: Family = {
  sections: {
    peers: "wtproxy has no stick tables to synchronise",
  },
  proxy: {
    cookie: { level: "error", why: "cookie persistence is not supported (use URL affinity)" },
    appsession: { level: "error", why: "cookie persistence is not supported (use URL affinity)" },
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
    "non-stick": pw("flag", "there are no stick tables"),
    cookie: pe("value", "cookie persistence is not supported (use URL affinity)"),
  },
};
