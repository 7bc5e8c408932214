// TLS: on binds, to servers, and the global ssl-* defaults. Not implemented.
import type { Family } from "./types.ts";
import { e, pe, pw } from "./types.ts";

const NO_TLS = "wtproxy does not terminate TLS: put it behind a TLS terminator or use HTTP";

export const TLS: Family = {
  global: {
    "ssl-default-bind-ciphers": { level: "warn", why: "wtproxy does not terminate TLS" },
    "ssl-default-bind-ciphersuites": { level: "warn", why: "wtproxy does not terminate TLS" },
    "ssl-default-bind-options": { level: "warn", why: "wtproxy does not terminate TLS" },
    "ssl-default-server-ciphers": { level: "warn", why: "wtproxy does not use TLS to servers" },
    "ssl-default-server-ciphersuites": {
      level: "warn",
      why: "wtproxy does not use TLS to servers",
    },
    "ssl-default-server-options": { level: "warn", why: "wtproxy does not use TLS to servers" },
    "ssl-dh-param-file": { level: "warn", why: "wtproxy does not terminate TLS" },
    "ssl-server-verify": { level: "warn", why: "wtproxy does not use TLS to servers" },
    "ca-base": { level: "warn", why: "wtproxy does not use TLS" },
    "crt-base": { level: "warn", why: "wtproxy does not use TLS" },
    maxsslconn: { level: "warn", why: "wtproxy does not use TLS" },
    maxsslrate: { level: "warn", why: "wtproxy does not use TLS" },
  },
  options: {
    "ssl-hello-chk": e("be", "only TCP and HTTP checks are supported"),
  },
  server: {
    "check-sni": pw("value", "checks do not use TLS"),
    "check-alpn": pw("value", "checks do not use TLS"),
    ssl: pe("flag", "TLS to servers is not supported"),
    "check-ssl": pe("flag", "TLS to servers is not supported"),
    verify: pe("value", "TLS to servers is not supported"),
    verifyhost: pe("value", "TLS to servers is not supported"),
    "ca-file": pe("value", "TLS to servers is not supported"),
    crt: pe("value", "TLS to servers is not supported"),
    sni: pe("value", "TLS to servers is not supported"),
    alpn: pe("value", "TLS to servers is not supported"),
    npn: pe("value", "TLS to servers is not supported"),
    ciphers: pe("value", "TLS to servers is not supported"),
    ciphersuites: pe("value", "TLS to servers is not supported"),
  },
  bind: {
    ssl: pe("flag", NO_TLS),
    crt: pe("value", NO_TLS),
    "crt-list": pe("value", NO_TLS),
    "ca-file": pe("value", NO_TLS),
    verify: pe("value", NO_TLS),
    alpn: pe("value", NO_TLS),
    npn: pe("value", NO_TLS),
    ciphers: pe("value", NO_TLS),
    ciphersuites: pe("value", NO_TLS),
    "ssl-min-ver": pe("value", NO_TLS),
    "ssl-max-ver": pe("value", NO_TLS),
    "strict-sni": pe("flag", NO_TLS),
    "allow-0rtt": pe("flag", NO_TLS),
  },
};
