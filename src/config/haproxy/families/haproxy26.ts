// The HAProxy 2.6 keywords no family declares: never "unknown keyword" for a keyword HAProxy
// knows. The message says what it does in HAProxy (its manual's first sentence, from
// haproxy26_keywords.ts) and that wtproxy does not implement it: ignored when leaving it out
// cannot change traffic, routing, health or security (process tuning), refused otherwise.
import {
  BIND_26,
  FETCH_26,
  GLOBAL_26,
  type Keyword26,
  PROXY_26,
  SERVER_26,
} from "./haproxy26_keywords.ts";
import type { OptionSpec, ParamSpec, Unsupported } from "./types.ts";

/** Options HAProxy 2.x removed, with HAProxy's own words. */
const REMOVED_OPTIONS: Record<string, string> = {
  forceclose: "not supported any more since HAProxy 2.0, please just remove it, or use " +
    "'option httpclose' if absolutely needed",
  "http-tunnel": "not supported any more since HAProxy 2.0, please just remove it, it " +
    "shouldn't be needed",
};

const why = (what: string) => `in HAProxy 2.6 it does this: "${what}"`;

/** A `global` keyword of HAProxy 2.6: ignored, except those that run code (Lua). */
export function global26(kw: string): Unsupported | undefined {
  const what = GLOBAL_26[kw];
  if (what === undefined) return undefined;
  return { level: /^lua-/.test(kw) ? "error" : "warn", why: why(what) };
}

/** A proxy keyword of HAProxy 2.6 (TCP keep-alive tuning is ignored, the rest refused). */
export function proxy26(kw: string): Unsupported | undefined {
  const what = PROXY_26[kw];
  if (what === undefined) return undefined;
  return { level: /tcpka/.test(kw) ? "warn" : "error", why: why(what) };
}

/** An `option` of HAProxy 2.6 (or one it removed, with its hint). */
export function option26(name: string): OptionSpec | undefined {
  if (name in REMOVED_OPTIONS) {
    return { cap: "both", unsupported: { level: "error", why: REMOVED_OPTIONS[name] } };
  }
  const what = PROXY_26[`option ${name}`];
  if (what === undefined) return undefined;
  return { cap: "both", unsupported: { level: "error", why: why(what) } };
}

const param = (k: Keyword26 | undefined): ParamSpec | undefined =>
  k && { kind: k.arg ? "value" : "flag", unsupported: { level: "error", why: why(k.what) } };

/** A `bind` parameter of HAProxy 2.6. */
export function bind26(name: string): ParamSpec | undefined {
  return param(BIND_26[name]);
}

/** A `server` / `default-server` parameter of HAProxy 2.6. */
export function server26(name: string): ParamSpec | undefined {
  return param(SERVER_26[name]);
}

/** The message for a sample fetch wtproxy does not have: "unknown" only when HAProxy 2.6 does
 * not know it either (ACLs and `%[...]` use it). */
export function unknownFetchMessage(name: string): string {
  const what = FETCH_26[name];
  return what === undefined
    ? `unknown fetch '${name}'`
    : `'${name}' is an HAProxy 2.6 sample fetch ("${what}") that wtproxy does not support`;
}
