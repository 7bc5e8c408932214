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
 * `named` the tokens of its Connection header (lower-cased): headers it names are hop-by-hop,
 * except Host. `framing` is the proxy's own framing line ("content-length: N\r\n",
 * "transfer-encoding: chunked\r\n" or ""), made from the framing the request parser decided:
 * it takes the place of the client's first Content-Length / Transfer-Encoding line (at the end
 * when there is none), and no client framing line is ever forwarded, so nothing a client
 * writes (a `Connection: Content-Length` included) can make the server frame the body
 * differently from us.
 */
export function headerLines(
  lines: Iterable<[string, string]>,
  named: readonly string[],
  framing: string,
): string {
  let s = "";
  let framed = framing === "";
  for (const [name, value] of lines) {
    if (name === "content-length" || name === "transfer-encoding") {
      if (!framed) {
        s += framing;
        framed = true;
      }
      continue;
    }
    if (HOP_BY_HOP.has(name)) {
      if (name === "te" && /(^|,)[ \t]*trailers[ \t]*(;|,|$)/i.test(value)) s += "te: trailers\r\n";
      continue;
    }
    if (named.length > 0 && name !== "host" && named.includes(name)) continue;
    s += `${name}: ${value}\r\n`;
  }
  return framed ? s : s + framing;
}

/** The framing line the proxy writes for a request body (see headerLines). */
export function framingLine(
  bodyKind: "none" | "length" | "chunked",
  contentLength: number,
): string {
  if (bodyKind === "chunked") return "transfer-encoding: chunked\r\n";
  return contentLength >= 0 ? `content-length: ${contentLength}\r\n` : "";
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
