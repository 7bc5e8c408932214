// TLS: what is not implemented of it. `bind ... ssl crt FILE [alpn ...] [ssl-min-ver ...]
// [ssl-max-ver ...]` is (bind.ts); TLS to servers is not.
import type { Family } from "./types.ts";
import { e, pe, pw } from "./types.ts";

const RUSTLS = "wtproxy's TLS (rustls) chooses its cipher suites itself (TLSv1.2 and TLSv1.3 only)";
const NO_CLIENT_CERTS = "client certificates are not supported";

export const TLS: Family = {
  globalDirectives: {
    // HAProxy prefixes the relative `crt` paths of the binds parsed after it (bind.ts).
    "crt-base": (c, { l, kw, kwLoc, args }) => {
      if (!args[0] || args.length > 1) {
        return c.error(kwLoc, `'${kw}' expects a directory path as its only argument.`);
      }
      c.crtBase = args[0].text;
      c.takeComment(l);
    },
    // Only `ca-file`/`crl-file` use it, and those are refused on their own lines.
    "ca-base": (c, { l, kw, kwLoc, args }) => {
      if (!args[0] || args.length > 1) {
        return c.error(kwLoc, `'${kw}' expects a directory path as its only argument.`);
      }
      c.takeComment(l);
    },
  },
  global: {
    "ssl-default-bind-ciphers": { level: "warn", why: RUSTLS },
    "ssl-default-bind-ciphersuites": { level: "warn", why: RUSTLS },
    "ssl-default-bind-options": { level: "warn", why: RUSTLS },
    "ssl-default-server-ciphers": { level: "warn", why: "wtproxy does not use TLS to servers" },
    "ssl-default-server-ciphersuites": {
      level: "warn",
      why: "wtproxy does not use TLS to servers",
    },
    "ssl-default-server-options": { level: "warn", why: "wtproxy does not use TLS to servers" },
    "ssl-dh-param-file": { level: "warn", why: RUSTLS },
    "ssl-server-verify": { level: "warn", why: "wtproxy does not use TLS to servers" },
    maxsslconn: { level: "warn", why: "maxconn limits TLS connections too" },
    maxsslrate: { level: "warn", why: "not supported" },
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
    "crt-list": pe("value", "crt-list files are not supported: give 'crt' once per file"),
    "ca-file": pe("value", NO_CLIENT_CERTS),
    verify: pe("value", NO_CLIENT_CERTS),
    npn: pw("value", "NPN is obsolete: ALPN offers http/1.1"),
    ciphers: pw("value", RUSTLS),
    ciphersuites: pw("value", RUSTLS),
    curves: pw("value", RUSTLS),
    "ecdhe": pw("value", RUSTLS),
    "no-sslv3": pw("flag", "SSLv3 is never offered"),
    "no-tlsv10": pw("flag", "TLSv1.0 is never offered"),
    "no-tlsv11": pw("flag", "TLSv1.1 is never offered"),
    "no-tls-tickets": pw("flag", RUSTLS),
    "prefer-client-ciphers": pw("flag", RUSTLS),
    "strict-sni": pe("flag", "a client without a matching SNI gets the first certificate"),
    "allow-0rtt": pw("flag", "0-RTT is not offered"),
  },
};
