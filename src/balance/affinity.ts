// Wt affinity shorthand: `affinity: { urlParam: wtd }` plus a `prefix` per server.
//
// How `wtd` is read: the FIRST occurrence of the parameter in the query string (after the
// first `?`), raw bytes, no percent-decoding, case-sensitive. The value goes to the usable
// server whose prefix it starts with; the longest prefix wins (wt12... goes to wt12, not
// wt1). No value, no matching prefix, or that server not usable: the backend balances.
//
// Where this differs from the recipe's `url_sub wtd=wt1` (substring anywhere in the target):
// `wtd=wt1` in the path or inside another parameter (`/wtd=wt1/`, `?xwtd=wt1`,
// `?a=wtd=wt1`) matches the recipe only; with two `wtd` parameters the recipe follows rule
// order, the shorthand the first one; with prefixes wt1 and wt12 the recipe sends wt12
// sessions to wt1. Real Wt URLs carry one `wtd` in the query, where both agree.
import type { BackendConfig } from "../config/model.ts";
import type { RequestInfo } from "../proxy/request.ts";
import { firstUrlParam } from "../acl/fetches/url.ts";
import type { SessionLookup } from "../session/observer.ts";
import type { ServerRef } from "./selector.ts";

export type AffinityPick = (
  req: RequestInfo,
  exclude?: ReadonlySet<string>,
) => ServerRef | undefined;

/** The server's Wt prefix: its DNS-derived one (`prefix-from`), else the configured one. */
function prefixOf(s: ServerRef): string | null {
  return s.config.dns?.prefixFrom ? s.state.dns?.prefix ?? null : s.config.prefix;
}

/**
 * Compiles the shorthand for a backend (null when it has no `affinity`). With the Wt session
 * table (`sessions`), a server in DRAIN (or at weight 0) but UP keeps the requests of its own
 * live sessions: the Wt-correct meaning of drain (its sessions cannot move); others balance.
 * `store` gives the version of the prefixes DNS discovery derived, re-read when they change.
 */
export function compileAffinity(
  backend: BackendConfig,
  servers: readonly ServerRef[],
  sessions: SessionLookup | null = null,
  store?: { readonly prefixVersion: number },
): AffinityPick | null {
  if (!backend.affinity) return null;
  const param = backend.affinity.urlParam;
  const dynamic = store !== undefined && servers.some((s) => s.config.dns?.prefixFrom);
  let version = -1;
  let byPrefix: [string, ServerRef][] = [];
  // Longest prefix first, so the first match is the most specific.
  const sort = () => {
    byPrefix = servers
      .map((s): [string | null, ServerRef] => [prefixOf(s), s])
      .filter((e): e is [string, ServerRef] => !!e[0])
      .sort((a, b) => b[0].length - a[0].length);
  };
  if (!dynamic) {
    sort();
    if (byPrefix.length === 0) return null;
  }
  return (req, exclude) => {
    if (dynamic && store!.prefixVersion !== version) {
      version = store!.prefixVersion;
      sort();
    }
    const value = firstUrlParam(req.query, param);
    if (!value) return undefined;
    for (const [prefix, s] of byPrefix) {
      if (!value.startsWith(prefix)) continue;
      // The session's server decides; if it cannot take the request, balance.
      if (exclude?.has(s.state.key)) return undefined;
      const st = s.state;
      if (st.usable) return s;
      return !st.stopped && sessions?.isLive(st.key, value) ? s : undefined;
    }
    return undefined;
  };
}
