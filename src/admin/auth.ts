// Who may talk to the admin listener: anyone on a loopback bind without a token; with a
// token, only requests that carry it. A non-loopback bind without a token is refused.

import type { Address, AdminConfig } from "../config/model.ts";

/** True for 127.0.0.0/8, ::1, ::ffff:127.x.x.x and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The hostname Deno.serve binds for an admin address ("*" and friends become wildcards). */
export function bindHostname(a: Address): string {
  if (a.wildcard) return a.family === "any6" ? "::" : "0.0.0.0";
  return a.host.replace(/^\[|\]$/g, "");
}

/**
 * The configuration error of an admin section, or null when it is acceptable:
 * a bind that is not loopback needs a token (the runtime API can put servers in MAINT).
 */
export function adminConfigError(admin: AdminConfig): string | null {
  const a = admin.bind;
  if (admin.token !== null && admin.token.length === 0) {
    return "admin: token must not be empty";
  }
  if (admin.token === null && (a.wildcard || !isLoopbackHost(a.host))) {
    return `admin: bind ${a.text || `${a.host}:${a.port}`} is not a loopback address; ` +
      "set admin.token (clients then send 'Authorization: Bearer TOKEN') or bind 127.0.0.1";
  }
  return null;
}

/** Constant-time string comparison (both sides are short). */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * True when the request carries the token: `Authorization: Bearer TOKEN` (scripts, curl), or
 * `Authorization: Basic base64(ANYUSER:TOKEN)` so a browser can open /stats after its
 * password prompt and keep sending it to /stats/events and /stats.json.
 */
export function authorized(req: Request, token: string | null): boolean {
  if (token === null) return true;
  const h = req.headers.get("authorization");
  if (!h) return false;
  const sp = h.indexOf(" ");
  if (sp < 0) return false;
  const scheme = h.slice(0, sp).toLowerCase();
  const value = h.slice(sp + 1).trim();
  if (scheme === "bearer") return sameSecret(value, token);
  if (scheme === "basic") {
    let decoded: string;
    try {
      decoded = atob(value);
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    return colon >= 0 && sameSecret(decoded.slice(colon + 1), token);
  }
  return false;
}
