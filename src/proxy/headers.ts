// The header lines the proxy adds or edits on the way up: X-Forwarded-For / X-Original-To
// (`option forwardfor` / `originalto`, with their `except` networks and `if-none`), and the
// Cookie lines as cookie persistence forwards them.

import { type Network, parseNetwork } from "../acl/ip.ts";
import type { CookiePersistence } from "../persist/cookie.ts";
import type { HeaderPlan } from "./compile.ts";
import type { RequestInfo } from "./request.ts";

/** The request's lines with the Cookie lines as cookie persistence forwards them. */
export function* cookieEdited(
  lines: Iterable<[string, string]>,
  ck: CookiePersistence,
): Iterable<[string, string]> {
  for (const line of lines) {
    if (line[0] !== "cookie") yield line;
    else {
      const v = ck.forwardedCookie(line[1]);
      if (v !== "") yield [line[0], v];
    }
  }
}

function ipOf(ip: string): Network | null {
  return parseNetwork(ip);
}

function inAny(ip: string, nets: Network[]): boolean {
  if (nets.length === 0) return false;
  const n = ipOf(ip);
  if (!n) return false;
  return nets.some((net) => n.addr.every((w, i) => ((w & net.mask[i]) >>> 0) === net.addr[i]));
}

/** X-Forwarded-For / X-Original-To lines for this request (appended as the last lines). */
export function forwardedLines(plan: HeaderPlan, info: RequestInfo): [string, string][] {
  const out: [string, string][] = [];
  const xff = plan.xff;
  if (xff && !inAny(info.srcIp, xff.except) && !(xff.ifNone && info.headers.has(xff.name))) {
    out.push([xff.name, info.srcIp]);
  }
  const xot = plan.xot;
  if (xot && !inAny(info.dstIp, xot.except)) out.push([xot.name, info.dstIp]);
  return out;
}

/** The same lines as header text ("name: value\r\n" each), for the request head. */
export function forwardedText(plan: HeaderPlan, info: RequestInfo): string {
  let s = "";
  const xff = plan.xff;
  if (xff && !inAny(info.srcIp, xff.except) && !(xff.ifNone && info.headers.has(xff.name))) {
    s = `${xff.name}: ${info.srcIp}\r\n`;
  }
  const xot = plan.xot;
  if (xot && !inAny(info.dstIp, xot.except)) s += `${xot.name}: ${info.dstIp}\r\n`;
  return s;
}
