// Fetches on the request-target, raw as received: no percent-decoding, no case folding.
import { fetches, type Sample } from "../types.ts";

/** `url`: the whole request-target (origin-form, absolute-form or `*`). */
fetches.set("url", { type: "str", minArgs: 0, maxArgs: 0, compile: () => (req) => req.target });

/** `path`: the target up to `?` (for absolute-form, after the authority). */
fetches.set("path", { type: "str", minArgs: 0, maxArgs: 0, compile: () => (req) => req.path });

/** `query`: everything after the first `?`; no sample when there is none. */
fetches.set("query", { type: "str", minArgs: 0, maxArgs: 0, compile: () => (req) => req.query });

/**
 * Values of the query parameter `name` (every occurrence, raw). Without a name: every
 * parameter's value. Exported for the balance room's url_param policy and affinity.
 */
export function urlParamValues(query: string | null, name: string | null, delim = "&"): Sample[] {
  const out: Sample[] = [];
  if (query === null) return out;
  for (const part of query.split(delim)) {
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    if (name === null ? key !== "" : key === name) out.push(eq === -1 ? "" : part.slice(eq + 1));
  }
  return out;
}

/** First value of the query parameter `name`, raw; null when absent. Allocation-free scan. */
export function firstUrlParam(query: string | null, name: string): string | null {
  if (query === null) return null;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf("&", start);
    if (end === -1) end = query.length;
    if (
      query.startsWith(name, start) &&
      (start + name.length === end || query[start + name.length] === "=")
    ) {
      return start + name.length === end ? "" : query.slice(start + name.length + 1, end);
    }
    start = end + 1;
  }
  return null;
}

const urlParam = {
  type: "str" as const,
  minArgs: 0,
  maxArgs: 2,
  multi: true,
  compile(args: readonly string[]) {
    const name = args[0] ? args[0] : null;
    const delim = args[1] || "&";
    return (req: { query: string | null }) => urlParamValues(req.query, name, delim);
  },
};
fetches.set("url_param", urlParam);
fetches.set("urlp", urlParam);
