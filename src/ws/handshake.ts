// The HTTP side of a WebSocket handshake: recognising an upgrade request, checking it the way
// HAProxy 2.6 does (plus the RFC 6455 key/version rules), building the request head that goes
// to the backend, and checking the backend's 101 (read like any response, by upstream/).

import type { HeaderLookup, RequestInfo } from "../proxy/request.ts";
import { encodeHead } from "../upstream/request.ts";

/** Items of a comma-separated header value, trimmed of SP/HTAB only (case kept). */
function items(value: string | null): string[] {
  if (!value) return [];
  return value.split(",").map((t) => t.replace(/^[ \t]+|[ \t]+$/g, "")).filter((t) => t !== "");
}

/** Tokens of a comma-separated header value, lower-cased and trimmed. */
function tokens(value: string | null): string[] {
  return items(value).map((t) => t.toLowerCase());
}

/**
 * True when the request asks for a WebSocket: `Connection` has the `upgrade` token and
 * `Upgrade` has `websocket` (case-insensitive, so hixie-76's `WebSocket` counts too and is
 * then refused with 400). `Upgrade: websocket` without `Connection: upgrade` is a plain request
 * (HAProxy forwards it as one), so the proxy room should not call proxyWebSocket for it.
 */
export function isWebSocketUpgrade(headers: Pick<HeaderLookup, "get">): boolean {
  return tokens(headers.get("connection")).includes("upgrade") &&
    tokens(headers.get("upgrade")).includes("websocket");
}

const BASE64_KEY = /^[A-Za-z0-9+/]{22}==$/;

export interface ClientHandshake {
  key: string;
  /** Subprotocols the client offered, in order, case kept (empty when none). */
  protocols: string[];
}

/**
 * Checks an upgrade request. Returns the reason it is refused (answered with 400), or the
 * parsed handshake. Refused: not HTTP/1.1, hixie-76 (`Sec-WebSocket-Key1/Key2`), a missing key
 * or one that is not 24 base64 characters of 16 bytes, a version other than 13, a body.
 */
export function checkClientHandshake(
  info: Pick<RequestInfo, "method" | "version" | "headers">,
): ClientHandshake | string {
  const h = info.headers;
  if (info.version !== "HTTP/1.1") return `WebSocket over ${info.version}`;
  if (h.has("sec-websocket-key1") || h.has("sec-websocket-key2")) return "hixie-76 handshake";
  if (info.method !== "GET") return `WebSocket handshake with method ${info.method}`;
  const key = h.get("sec-websocket-key");
  if (key === null) return "missing Sec-WebSocket-Key";
  if (!BASE64_KEY.test(key)) return "Sec-WebSocket-Key is not 16 bytes of base64";
  const version = h.get("sec-websocket-version");
  if (version === null) return "missing Sec-WebSocket-Version";
  if (version.trim() !== "13") return `Sec-WebSocket-Version ${version} (only 13)`;
  const cl = h.get("content-length");
  if (h.has("transfer-encoding") || (cl !== null && cl.trim() !== "0")) {
    return "WebSocket handshake with a body";
  }
  return { key, protocols: items(h.get("sec-websocket-protocol")) };
}

/** base64(SHA-1(key + GUID)), RFC 6455 §4.2.2. */
export async function acceptFor(key: string): Promise<string> {
  const data = new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
  let bin = "";
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The request head sent to the backend: the client's request line target verbatim and its
 * header lines as received (names lower-cased, order and duplicates kept: Host, Origin,
 * Cookie, Connection, Upgrade, Sec-WebSocket-Key/Version/Protocol, ...) minus
 * `Sec-WebSocket-Extensions` (no extension is offered) and `Accept-Encoding` (a content coding
 * means nothing for a 101 and the stream after it, yet Wt gzips that stream when asked, which
 * no browser can read), then `extraHeaders` (X-Forwarded-For, X-Original-To) as the last lines.
 */
export function upstreamHead(
  target: string,
  lines: Iterable<[string, string]>,
  extraHeaders: [string, string][],
): Uint8Array {
  let s = `GET ${target} HTTP/1.1\r\n`;
  for (const [name, value] of lines) {
    if (name === "sec-websocket-extensions" || name === "accept-encoding") continue;
    s += `${name}: ${value}\r\n`;
  }
  for (const [name, value] of extraHeaders) s += `${name}: ${value}\r\n`;
  return encodeHead(s + "\r\n");
}

/** First value of a header (case-insensitive name), or null. */
export function headerValue(head: { headers: [string, string][] }, name: string): string | null {
  for (const [n, v] of head.headers) if (n.toLowerCase() === name) return v;
  return null;
}

/**
 * Checks a backend's 101 against what we sent; returns a reason for 502, or null when good.
 * The accept must match the key, the upgrade must be websocket, the subprotocol (if any) one
 * the client offered, no extension may be claimed (none was offered), and no content coding
 * (the client could not read that stream).
 */
export function check101(
  head: { headers: [string, string][] },
  accept: string,
  offered: string[],
): string | null {
  const got = headerValue(head, "sec-websocket-accept");
  if (got === null) return "101 without Sec-WebSocket-Accept";
  if (got !== accept) return "101 with a wrong Sec-WebSocket-Accept";
  if (!tokens(headerValue(head, "upgrade")).includes("websocket")) {
    return "101 without Upgrade: websocket";
  }
  const proto = headerValue(head, "sec-websocket-protocol");
  if (proto !== null && proto !== "" && !offered.includes(proto)) {
    return `101 chose subprotocol ${proto} that the client did not offer`;
  }
  const ext = headerValue(head, "sec-websocket-extensions");
  if (ext !== null && ext.trim() !== "") return `101 claims extension ${ext} that was not offered`;
  const coding = headerValue(head, "content-encoding");
  if (coding !== null) return `101 with Content-Encoding ${coding}`;
  return null;
}

/**
 * The 101 the client gets: our status line, then the backend's header lines (names
 * lower-cased, values as sent) minus Date and Sec-WebSocket-Extensions.
 */
export function clientHead101(head: { headers: [string, string][] }): Uint8Array {
  let s = "HTTP/1.1 101 Switching Protocols\r\n";
  for (const [name, value] of head.headers) {
    const n = name.toLowerCase();
    if (n === "date" || n === "sec-websocket-extensions") continue;
    s += `${n}: ${value}\r\n`;
  }
  return encodeHead(s + "\r\n");
}
