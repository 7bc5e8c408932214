// tcp-response rules: not implemented (tcp-request: tcp_request.ts).
import type { Family } from "./types.ts";

export const TCP_RULES: Family = {
  proxy: {
    "tcp-response": { level: "error", why: "TCP rules are not supported" },
  },
};
