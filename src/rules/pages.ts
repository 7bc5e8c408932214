// The answers rules give themselves: HAProxy 2.6's default error pages for `deny_status`
// (byte for byte, including its stray "." in the 501 text), and the reason phrases of
// `return` and `redirect`.

/** HAProxy's default errorfiles: the statuses `deny_status` accepts. */
const PAGES: Record<number, [string, string]> = {
  200: ["OK", "Service ready."],
  400: ["Bad request", "Your browser sent an invalid request."],
  401: ["Unauthorized", "You need a valid user and password to access this content."],
  403: ["Forbidden", "Request forbidden by administrative rules."],
  404: ["Not Found", "The resource could not be found."],
  405: [
    "Method Not Allowed",
    "A request was made of a resource using a request method not supported by that resource",
  ],
  407: ["Unauthorized", "You need a valid user and password to access this content."],
  408: ["Request Time-out", "Your browser didn't send a complete request in time."],
  410: ["Gone", "The resource is no longer available and will not be available again."],
  413: ["Payload Too Large", "The request entity exceeds the maximum allowed."],
  425: ["Too Early", "Your browser sent early data."],
  429: ["Too Many Requests", "You have sent too many requests in a given amount of time."],
  500: ["Internal Server Error", "An internal server error occurred."],
  501: [
    "Not Implemented",
    ".The server does not support the functionality required to fulfill the request.",
  ],
  502: ["Bad Gateway", "The server returned an invalid or incomplete response."],
  503: ["Service Unavailable", "No server is available to handle this request."],
  504: ["Gateway Time-out", "The server didn't respond in time."],
};

export interface DenyPage {
  status: number;
  reason: string;
  /** Header lines before the framing ("name: value\r\n"). */
  lines: string;
  body: Uint8Array;
  /** 400 and 408 close the connection, as HAProxy's do. */
  closes: boolean;
}

/** The page `deny_status N` answers with, or null when HAProxy has no default page for N. */
export function denyPage(status: number): DenyPage | null {
  const p = PAGES[status];
  if (!p) return null;
  const [reason, text] = p;
  return {
    status,
    reason,
    lines: "cache-control: no-cache\r\ncontent-type: text/html\r\n",
    body: new TextEncoder().encode(
      `<html><body><h1>${status} ${reason}</h1>\n${text}\n</body></html>\n`,
    ),
    closes: status === 400 || status === 408,
  };
}

/** Statuses `deny_status` accepts (for messages). */
export const DENY_STATUSES: readonly number[] = Object.keys(PAGES).map(Number);

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  410: "Gone",
  413: "Payload Too Large",
  418: "I'm a teapot",
  425: "Too Early",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The reason phrase for `status` (HAProxy's table; "Other" for a status it does not name). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Other";
}
