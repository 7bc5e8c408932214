// Cookie fetches over the request's Cookie header (several lines arrive joined with ", ": both separators split).
import type { RequestInfo } from "../../proxy/request.ts";
import { fetches, type Sample } from "../types.ts";

function cookieValues(req: RequestInfo, name: string | null): Sample[] {
  const header = req.headers.get("cookie");
  const out: Sample[] = [];
  if (header === null) return out;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const key = part.slice(0, eq).trim();
    if (name === null || key === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** `req.cook([name])`: every value of cookie `name` (names are case-sensitive). */
const cook = {
  type: "str" as const,
  minArgs: 0,
  maxArgs: 1,
  multi: true,
  compile(args: readonly string[]) {
    const name = args[0] ? args[0] : null;
    return (req: RequestInfo) => cookieValues(req, name);
  },
};
fetches.set("req.cook", cook);
fetches.set("cook", cook);

/** `req.cook_cnt([name])`: how many times the cookie occurs. */
const cookCnt = {
  type: "int" as const,
  minArgs: 0,
  maxArgs: 1,
  compile(args: readonly string[]) {
    const name = args[0] ? args[0] : null;
    return (req: RequestInfo) => cookieValues(req, name).length;
  },
};
fetches.set("req.cook_cnt", cookCnt);
fetches.set("cook_cnt", cookCnt);
