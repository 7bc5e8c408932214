// Request-line fetches: `method` as sent (case-sensitive, like HAProxy for known methods) and
// `req.ver`, the HTTP version without "HTTP/" ("1.1", "1.0", "2.0").
import { fetches } from "../types.ts";

fetches.set("method", { type: "str", minArgs: 0, maxArgs: 0, compile: () => (req) => req.method });
fetches.set("req.ver", {
  type: "str",
  minArgs: 0,
  maxArgs: 0,
  compile: () => (req) => req.version.startsWith("HTTP/") ? req.version.slice(5) : req.version,
});
