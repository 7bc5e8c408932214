// `timeout` names (the `timeout` directive is in proxy.ts).
import type { Family } from "./types.ts";

export const TIMEOUT_NAMES: Family = {
  timeouts: {
    client: { cap: "fe" },
    server: { cap: "be" },
    connect: { cap: "be" },
    check: { cap: "be" },
    queue: { cap: "be" },
    "http-keep-alive": { cap: "both" },
    "http-request": { cap: "both" },
    tunnel: { cap: "be" },
    tarpit: { cap: "both", unsupported: { level: "warn", why: "wtproxy has no tarpit" } },
    "client-fin": { cap: "fe" },
    "server-fin": { cap: "be" },
  },
};
