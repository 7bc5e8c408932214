// The answers wtproxy generates itself, byte for byte HAProxy 2.6's (haproxy-semantics.md
// §3.24), encoded once at load. 400, 408 and 422 come from HAProxy's HTTP/1 parser: mixed-case
// names and `Connection: close` (not on 422, though the connection closes too). 502/503/504
// keep an HTTP/1.1 connection open; to an HTTP/1.0 client (or when the connection closes
// anyway) they carry `connection: close`.

const PAGES: Record<number, [string, string]> = {
  400: ["Bad request", "Your browser sent an invalid request."],
  408: ["Request Time-out", "Your browser didn't send a complete request in time."],
  422: ["Unprocessable Content", "The server cannot process the contained instructions."],
  502: ["Bad Gateway", "The server returned an invalid or incomplete response."],
  503: ["Service Unavailable", "No server is available to handle this request."],
  504: ["Gateway Time-out", "The server didn't respond in time."],
};

const encoder = new TextEncoder();

interface Built {
  /** The page on a connection that stays open (400/408: always closing). */
  open: Uint8Array;
  /** The page on a connection that closes after it. */
  closing: Uint8Array;
  /** 400, 408 and 422 always close the connection. */
  closes: boolean;
}

const BUILT = new Map<number, Built>();
for (const [code, [reason, text]] of Object.entries(PAGES)) {
  const status = Number(code);
  const body = `<html><body><h1>${status} ${reason}</h1>\n${text}\n</body></html>\n`;
  const line = `HTTP/1.1 ${status} ${reason}\r\n`;
  if (status === 400 || status === 408 || status === 422) {
    // (HAProxy's 422, for a Transfer-Encoding it refuses, closes without saying so.)
    const close = status === 422 ? "" : "Connection: close\r\n";
    const page = encoder.encode(
      `${line}Content-length: ${body.length}\r\nCache-Control: no-cache\r\n` +
        `${close}Content-Type: text/html\r\n\r\n${body}`,
    );
    BUILT.set(status, { open: page, closing: page, closes: true });
    continue;
  }
  const head = `${line}content-length: ${body.length}\r\ncache-control: no-cache\r\n` +
    `content-type: text/html\r\n`;
  BUILT.set(status, {
    open: encoder.encode(`${head}\r\n${body}`),
    closing: encoder.encode(`${head}connection: close\r\n\r\n${body}`),
    closes: false,
  });
}

/** HAProxy's page for `status` (502 for a status without a page). */
export function errorPage(status: number, closing: boolean): Uint8Array {
  const b = BUILT.get(status) ?? BUILT.get(502)!;
  return closing ? b.closing : b.open;
}

/** Whether the page for `status` always closes the connection (400, 408, 422). */
export function pageCloses(status: number): boolean {
  return BUILT.get(status)?.closes ?? false;
}

/** Bytes the page puts on the wire on a connection that stays open (for the log). */
export function errorPageBytes(status: number): number {
  return (BUILT.get(status) ?? BUILT.get(502)!).open.length;
}
