// What the ACL and balance rooms see of one request. Built once per request by the
// frontend from the request head as received (raw target, never normalised).

/** Header lookup by lower-cased name, same-name lines combined with ", " (web Headers fit). */
export interface HeaderLookup extends Iterable<[string, string]> {
  get(name: string): string | null;
  has(name: string): boolean;
}

export interface RequestInfo {
  method: string;
  /** The request-target exactly as received: "/app?wtd=wt1abc", or absolute-form, or "*". */
  target: string;
  /** Target up to "?" (for absolute-form: the path part after the authority). */
  path: string;
  /** Everything after the first "?" (without it), or null when there is none. */
  query: string | null;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  /** Lower-cased names, same-name lines combined. */
  headers: HeaderLookup;
  srcIp: string;
  srcPort: number;
  /** The local address the client connected to (the listener's own address). */
  dstIp: string;
  dstPort: number;
  /** mode tcp: the client's first bytes, read while `tcp-request inspect-delay` runs. */
  payload?: TcpPayload;
  /** The client connection is TLS (a `bind ... ssl` listener); absent or null: plain. */
  tls?: TlsInfo | null;
}

/** What is known of a TLS client connection. */
export interface TlsInfo {
  /** ALPN protocol agreed ("http/1.1"), or null. */
  alpn: string | null;
}

/** What a TCP frontend has buffered for its content rules and payload fetches. */
export interface TcpPayload {
  bytes: Uint8Array;
  /** No more bytes will be waited for (delay over, buffer full, client shut): decide now. */
  final: boolean;
  /** Set by a fetch whose sample more bytes could still change (HAProxy's MAY_CHANGE). */
  miss: boolean;
}

/** Splits a raw target into path and query without any normalisation. */
export function splitTarget(target: string): { path: string; query: string | null } {
  let start = 0;
  // absolute-form: scheme://authority/path?query
  const scheme = target.indexOf("://");
  if (scheme > 0 && scheme < 10 && target[0] !== "/") {
    const slash = target.indexOf("/", scheme + 3);
    const q = target.indexOf("?", scheme + 3);
    start = slash === -1 ? (q === -1 ? target.length : q) : (q !== -1 && q < slash ? q : slash);
  }
  const q = target.indexOf("?", start);
  if (q === -1) return { path: target.slice(start) || "/", query: null };
  return { path: target.slice(start, q) || "/", query: target.slice(q + 1) };
}
