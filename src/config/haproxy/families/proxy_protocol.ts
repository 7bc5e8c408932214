// The PROXY protocol (send-proxy on servers, accept-proxy on binds): not implemented.
import type { Family } from "./types.ts";
import { pe } from "./types.ts";

export const PROXY_PROTOCOL: Family = {
  server: {
    "send-proxy": pe("flag", "the PROXY protocol is not supported"),
    "send-proxy-v2": pe("flag", "the PROXY protocol is not supported"),
    "send-proxy-v2-ssl": pe("flag", "the PROXY protocol is not supported"),
    "send-proxy-v2-ssl-cn": pe("flag", "the PROXY protocol is not supported"),
    "proxy-v2-options": pe("value", "the PROXY protocol is not supported"),
  },
  bind: {
    "accept-proxy": pe("flag", "the PROXY protocol is not supported"),
  },
};
