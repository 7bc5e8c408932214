// tcp-request / tcp-response rules: not implemented.
import type { Family } from "./types.ts";

export const TCP_RULES: Family = {
  proxy: {
    "tcp-request": { level: "error", why: "TCP rules are not supported" },
    "tcp-response": { level: "error", why: "TCP rules are not supported" },
  },
};
