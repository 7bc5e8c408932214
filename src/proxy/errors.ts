// The answers wtproxy generates itself, with HAProxy 2.6's bodies (haproxy-semantics.md §3.24).
// Deno.serve writes its own reason phrase ("Gateway Timeout", not HAProxy's "Gateway Time-out")
// and adds a `date` header; status, headers and body bytes are HAProxy's.

const PAGES: Record<number, [string, string]> = {
  400: ["Bad request", "Your browser sent an invalid request."],
  408: ["Request Time-out", "Your browser didn't send a complete request in time."],
  502: ["Bad Gateway", "The server returned an invalid or incomplete response."],
  503: ["Service Unavailable", "No server is available to handle this request."],
  504: ["Gateway Time-out", "The server didn't respond in time."],
};

interface Page {
  body: Uint8Array<ArrayBuffer>;
  headers: [string, string][];
  reason: string;
}

const encoder = new TextEncoder();

/** Encoded once at load: the hot path only wraps the bytes in a Response. */
const BUILT = new Map<number, Page>();
for (const [code, [reason, text]] of Object.entries(PAGES)) {
  const status = Number(code);
  const body = encoder.encode(
    `<html><body><h1>${status} ${reason}</h1>\n${text}\n</body></html>\n`,
  );
  const headers: [string, string][] = [
    ["content-length", String(body.length)],
    ["cache-control", "no-cache"],
    ["content-type", "text/html"],
  ];
  // 400 and 408 come from HAProxy's HTTP/1 parser and always close the connection.
  if (status === 400 || status === 408) headers.push(["connection", "close"]);
  BUILT.set(status, { body, headers, reason });
}

/** HAProxy's error page for `status` (400, 408, 502, 503, 504). */
export function errorResponse(status: number): Response {
  const page = BUILT.get(status) ?? BUILT.get(502)!;
  return new Response(page.body, {
    status: BUILT.has(status) ? status : 502,
    statusText: page.reason,
    headers: page.headers,
  });
}

/** Bytes the error answer puts on the wire (status line + headers + body), for the log. */
export function errorBytes(status: number): number {
  const page = BUILT.get(status);
  if (!page) return 0;
  let n = 17 + page.reason.length; // "HTTP/1.1 NNN " + reason + CRLF
  for (const [k, v] of page.headers) n += k.length + v.length + 4;
  return n + 2 + page.body.length;
}
