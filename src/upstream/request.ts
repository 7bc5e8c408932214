// Request head serialisation: request line as received, the client's header lines with values
// unchanged (Host included), hop-by-hop headers removed, then our own lines appended.

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1 + legacy ones): never forwarded, in either direction.
 * The one list every room builds its own drop set from.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * The header block sent upstream, as a string ending with the CRLF of its last line (the blank
 * line is not included). `lines` are the client's header lines (lower-cased names, in order);
 * `named` the tokens of its Connection header (lower-cased): headers it names are hop-by-hop.
 */
export function headerLines(lines: Iterable<[string, string]>, named: readonly string[]): string {
  let s = "";
  for (const [name, value] of lines) {
    if (HOP_BY_HOP.has(name)) {
      if (name === "te" && /(^|,)\s*trailers\s*(;|,|$)/i.test(value)) s += "te: trailers\r\n";
      continue;
    }
    if (named.length > 0 && named.includes(name)) continue;
    s += `${name}: ${value}\r\n`;
  }
  return s;
}

/** Encodes a head string: ASCII fast path, else byte-per-char (header values are octets). */
export function encodeHead(s: string): Uint8Array {
  if (!NON_ASCII.test(s)) return encoder.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** "METHOD target HTTP/1.1\r\n" + lines + "\r\n", encoded. */
export function requestHead(method: string, target: string, lines: string): Uint8Array {
  return encodeHead(`${method} ${target} HTTP/1.1\r\n${lines}\r\n`);
}
