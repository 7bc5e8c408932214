// RequestInfo from Deno.serve's Request, by slicing req.url (never new URL(): it normalises
// dot-segments). Deno.serve does not tell the HTTP version nor whether the target was in
// absolute-form: targets are forwarded in origin-form and logged as HTTP/1.1.

import type { RequestInfo } from "./request.ts";

/** The raw request-target: req.url after "scheme://authority". */
export function rawTarget(url: string): string {
  const slash = url.indexOf("/", url.indexOf("://") + 3);
  return slash === -1 ? "/" : url.slice(slash);
}

export function buildRequestInfo(
  req: Request,
  src: { hostname: string; port: number },
  dst: { ip: string; port: number },
): RequestInfo {
  const target = rawTarget(req.url);
  const q = target.indexOf("?");
  return {
    method: req.method,
    target,
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? null : target.slice(q + 1),
    version: "HTTP/1.1",
    headers: req.headers,
    srcIp: src.hostname,
    srcPort: src.port,
    dstIp: dst.ip,
    dstPort: dst.port,
  };
}
