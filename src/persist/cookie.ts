// HAProxy's cookie persistence (`cookie NAME insert|rewrite|prefix ...` + server `cookie VALUE`),
// as HAProxy 2.6 does it (http_ana.c: client-side and server-side cookie management):
// - request: the first cookie NAME names a server by its value (insert/rewrite: the whole value,
//   or the part before "|" when dates are kept; prefix: the part before "~"). A server that is not
//   stopped (UP; DRAIN included, MAINT and DOWN excluded) gets the request directly; in insert
//   mode with `indirect` the cookie is taken out of the request, in prefix mode the "VALUE~" part.
// - response: insert mode adds `Set-Cookie: NAME=VALUE; path=/` when the request did not come
//   directly (or a maxidle/maxlife date needs refreshing), and `Cache-Control: private` with
//   `nocache` when the answer is cacheable; the server's own NAME cookie is removed in insert mode
//   (and in direct indirect mode) unless `preserve`, rewritten in rewrite mode, prefixed in
//   prefix mode.
// - the log: the 3rd and 4th characters of the termination state (N I D V E O / N P D I R U).
import type { CookieConfig } from "../config/model.ts";
import type { ServerRef } from "../balance/selector.ts";
import { parseNetwork } from "../acl/ip.ts";
import { xxh64 } from "./xxh64.ts";

/** Request-side cookie state (HAProxy's TX_CK_*): the log's third termination character. */
export type RequestFlag = "N" | "I" | "D" | "V" | "E" | "O";
/** Response-side cookie state (TX_SCK_*): the log's fourth character. */
export type ResponseFlag = "N" | "P" | "D" | "I" | "R" | "U";

/** What the request said about persistence. */
export interface CookieRequest {
  flag: RequestFlag;
  /** The server the cookie designates, when it can take the request. */
  server: ServerRef | null;
  /** Dates carried by the cookie (seconds since the epoch, 0 when absent). */
  firstDate: number;
  lastDate: number;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64REV = new Map([...B64].map((c, i) => [c, i]));

/** HAProxy's s30tob64: a 30-bit value as 5 base64 characters. */
export function s30tob64(v: number): string {
  let s = "";
  for (let i = 0; i < 5; i++) {
    s = B64[v & 63] + s;
    v >>>= 6;
  }
  return s;
}

/** HAProxy's b64tos30: 5 characters back to the value (-1 when not base64). */
export function b64tos30(s: string): number {
  let v = 0;
  for (let i = 0; i < 5; i++) {
    const d = B64REV.get(s[i]);
    if (d === undefined) return -1;
    v = v * 64 + d;
  }
  return v;
}

/** A server's usability for persistence: anything but stopped (DOWN or MAINT). */
function notStopped(s: ServerRef): boolean {
  return !s.state.stopped;
}

const NONE: CookieRequest = { flag: "N", server: null, firstDate: 0, lastDate: 0 };
/** Cookie lines joined with ", " by the header lookup: both separate cookies. */
const DELIMS = /[;,]/;

/** One backend's cookie persistence, compiled at load. */
export class CookiePersistence {
  readonly persist: boolean;
  constructor(
    readonly config: CookieConfig,
    readonly servers: readonly ServerRef[],
    opts: { persist?: boolean } = {},
  ) {
    this.persist = opts.persist ?? false;
  }

  private readonly dynamic = new Map<string, string>();

  /** A server's cookie value: its own `cookie VALUE`, else the dynamic one, else none. */
  valueOf(s: ServerRef): string | null {
    if (s.config.cookie) return s.config.cookie;
    const key = this.config.dynamic ? this.config.dynamicKey : null;
    if (!key) return null;
    // The current address (DNS discovery moves it), as HAProxy rehashes on address changes.
    const host = s.state.dns?.host ?? s.config.address.host;
    const port = s.state.dns?.port ?? s.config.address.port;
    const k = `${host}|${port}`;
    let v = this.dynamic.get(k);
    if (v === undefined) {
      v = dynamicCookie(key, host, port) ?? "";
      this.dynamic.set(k, v);
    }
    return v || null;
  }

  /**
   * Reads the request's Cookie header (`cookie`: its lines joined, or null). `nowSec` is the
   * current time in seconds.
   */
  request(cookie: string | null, nowSec: number): CookieRequest {
    if (cookie === null) return NONE;
    const name = this.config.name;
    for (const part of cookie.split(DELIMS)) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      return this.found(part.slice(eq + 1).trim(), nowSec);
    }
    return NONE;
  }

  /** Whether the Cookie lines sent to the server differ from the client's. */
  get editsRequest(): boolean {
    return this.config.mode === "prefix" ||
      (this.config.mode === "insert" && this.config.indirect);
  }

  /**
   * One Cookie line as the server gets it: prefix mode takes "VALUE~" out of the persistence
   * cookie, insert+indirect mode takes the cookie out ("" when nothing is left).
   */
  forwardedCookie(line: string): string {
    const name = this.config.name;
    const prefix = this.config.mode === "prefix";
    const out: string[] = [];
    for (const part of line.split(";")) {
      const p = part.trim();
      if (p === "") continue;
      const eq = p.indexOf("=");
      if (eq < 0 || p.slice(0, eq).trim() !== name) {
        out.push(p);
        continue;
      }
      if (!prefix) continue;
      const value = p.slice(eq + 1);
      const t = value.indexOf("~");
      out.push(t < 0 ? p : `${p.slice(0, eq + 1)}${value.slice(t + 1)}`);
    }
    return out.join("; ");
  }

  private found(value: string, nowSec: number): CookieRequest {
    const cfg = this.config;
    let id = value;
    let firstDate = 0, lastDate = 0;
    let flag: RequestFlag | null = null;
    if (cfg.mode === "prefix") {
      const t = value.indexOf("~");
      if (t >= 0) id = value.slice(0, t);
    } else {
      const bar = value.indexOf("|");
      if (bar >= 0) {
        id = value.slice(0, bar);
        const rest = value.slice(bar + 1);
        if (rest.length >= 5) {
          const v = b64tos30(rest);
          if (v > 0) lastDate = v * 4;
        }
        const bar2 = rest.indexOf("|");
        if (bar2 >= 0 && rest.length - bar2 > 5) {
          const v = b64tos30(rest.slice(bar2 + 1));
          if (v > 0) firstDate = v * 4;
        }
      }
    }
    const maxlife = cfg.maxlife === null ? 0 : Math.floor(cfg.maxlife / 1000);
    const maxidle = cfg.maxidle === null ? 0 : Math.floor(cfg.maxidle / 1000);
    // Too old, or expired; dates more than a day ahead are refused too (HAProxy's rule).
    if (firstDate && maxlife && (nowSec - firstDate > maxlife || firstDate - nowSec > 86400)) {
      flag = "O";
    } else if (
      lastDate && maxidle && (nowSec - lastDate > maxidle || lastDate - nowSec > 86400)
    ) flag = "E";
    if (flag) return { flag, server: null, firstDate: 0, lastDate: 0 };
    // The first server that is not stopped among those with this value (values may repeat).
    for (const s of this.servers) {
      const v = this.valueOf(s);
      if (v !== id || !v) continue;
      if (notStopped(s) || this.persist) {
        return { flag: notStopped(s) ? "V" : "D", server: s, firstDate, lastDate };
      }
      flag = "D";
    }
    return { flag: flag ?? "I", server: null, firstDate, lastDate };
  }

  /**
   * Edits the response header lines (in place) for the server that answered. `direct`: the
   * request reached the server its cookie designates. Returns the response-side flag.
   */
  response(
    headers: [string, string][],
    status: number,
    method: string,
    server: ServerRef,
    req: CookieRequest,
    direct: boolean,
    nowSec: number,
  ): ResponseFlag {
    const cfg = this.config;
    let flag: ResponseFlag = "N";
    let found = false;
    const srvCookie = this.valueOf(server);
    for (let i = 0; i < headers.length; i++) {
      if (headers[i][0].toLowerCase() !== "set-cookie") continue;
      const v = headers[i][1];
      const eq = v.indexOf("=");
      if (eq < 0 || v.slice(0, eq).trim() !== cfg.name) continue;
      found = true;
      flag = "P";
      if (cfg.preserve) break;
      if ((cfg.mode === "insert") || (direct && cfg.indirect)) {
        headers.splice(i, 1);
        flag = "D";
      } else if (srvCookie !== null && cfg.mode === "rewrite") {
        const end = v.indexOf(";", eq);
        headers[i] = [
          headers[i][0],
          `${v.slice(0, eq + 1)}${srvCookie}${end < 0 ? "" : v.slice(end)}`,
        ];
        flag = "R";
      } else if (srvCookie !== null && cfg.mode === "prefix") {
        headers[i] = [
          headers[i][0],
          `${v.slice(0, eq + 1)}${srvCookie}~${v.slice(eq + 1).trimStart()}`,
        ];
        flag = "R";
      }
      break;
    }
    if (cfg.mode !== "insert" || (found && cfg.preserve)) return flag;
    const maxidle = cfg.maxidle !== null && cfg.maxidle > 0;
    const maxlife = cfg.maxlife !== null && cfg.maxlife > 0;
    const dateDue = ((maxidle || req.lastDate) && (!req.lastDate || req.lastDate - nowSec < 0)) ||
      (maxlife && !req.firstDate) || (!maxlife && req.firstDate);
    if (direct && !dateDue) return flag;
    if (cfg.postonly && method !== "POST") return flag;
    let value: string;
    if (srvCookie === null) {
      value = `${cfg.name}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/`;
    } else {
      value = `${cfg.name}=${srvCookie}`;
      if (maxidle || maxlife) {
        const stamp = s30tob64(Math.floor((nowSec + 3) / 4));
        value += `|${stamp}`;
        if (maxlife) {
          value += `|${req.firstDate ? s30tob64(Math.floor(req.firstDate / 4)) : stamp}`;
        }
      }
      value += "; path=/";
    }
    for (const d of cfg.domains) value += `; domain=${d}`;
    if (cfg.httponly) value += "; HttpOnly";
    if (cfg.secure) value += "; Secure";
    for (const a of cfg.attrs) value += `; ${a}`;
    headers.push(["set-cookie", value]);
    flag = srvCookie !== null && direct ? "U" : "I";
    if (cfg.nocache && cacheable(status, method, headers)) {
      headers.push(["cache-control", "private"]);
    }
    return flag;
  }
}

const CACHEABLE_STATUS = new Set([200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501]);

/**
 * HAProxy 2.6's TX_CACHEABLE for the answer (checked against haproxy 2.6.12): a safe method, a
 * cacheable status, no Cache-Control private/no-cache/no-store/max-age=0/s-maxage=0, and some
 * freshness or validator information (max-age, s-maxage, Expires, Last-Modified, ETag).
 */
function cacheable(status: number, method: string, headers: [string, string][]): boolean {
  if (!CACHEABLE_STATUS.has(status)) return false;
  if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && method !== "TRACE") {
    return false;
  }
  let fresh = false;
  for (const [n, v] of headers) {
    const l = n.toLowerCase();
    if (l === "cache-control") {
      for (const raw of v.split(",")) {
        const d = raw.trim().toLowerCase();
        if (
          d === "private" || d === "no-cache" || d === "no-store" || d === "max-age=0" ||
          d === "s-maxage=0"
        ) return false;
        if (d.startsWith("max-age=") || d.startsWith("s-maxage=")) fresh = true;
      }
    } else if (l === "pragma" && /no-cache/i.test(v)) return false;
    else if (l === "expires" || l === "last-modified" || l === "etag") fresh = true;
  }
  return fresh;
}

/**
 * HAProxy's dynamic cookie (srv_set_dyncookie): XXH64 of the key, the server's IPv4 (4 bytes) or
 * IPv6 (16 bytes) address and its port as 4 big-endian bytes, in 16 hex digits. null for a host
 * name (HAProxy has no value until the name resolves).
 */
export function dynamicCookie(key: string, host: string, port: number): string | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  let addr: number[];
  if (v4) addr = v4.slice(1).map(Number);
  else if (host.includes(":")) {
    const n = parseNetwork(host);
    if (!n) return null;
    addr = n.addr.flatMap((w) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255]);
  } else return null;
  const k = new TextEncoder().encode(key);
  const buf = new Uint8Array(k.length + addr.length + 4);
  buf.set(k);
  buf.set(addr, k.length);
  new DataView(buf.buffer).setUint32(k.length + addr.length, port);
  return xxh64(buf).toString(16).padStart(16, "0");
}
