import { DNS_SERVER_KEYS } from "./dns.ts";
// The schema: allowed keys per section (docs/yaml-schema.md), and hints for HAProxy words.
export const TOP_KEYS = ["global", "defaults", "frontends", "backends", "admin", "resolvers"];
export const GLOBAL_KEYS = ["maxconn", "log-tag", "log"];
export const LOG_TARGET_KEYS = ["address", "facility", "level", "min-level", "format"];
export const SETTINGS_KEYS = [
  "mode",
  "log",
  "options",
  "retries",
  "maxconn",
  "timeouts",
  "monitor-uri",
];
export const DEFAULTS_KEYS = [...SETTINGS_KEYS, "http-check", "tcp-check", "default-server"];
export const FRONTEND_KEYS = [
  "bind",
  "acls",
  "use_backend",
  "default_backend",
  ...SETTINGS_KEYS,
];
export const BACKEND_KEYS = [
  "acls",
  "balance",
  "affinity",
  "default-server",
  "servers",
  "use-server",
  "mode",
  "log",
  "options",
  "retries",
  "timeouts",
  "http-check",
  "tcp-check",
];
export const OPTION_KEYS = [
  "httplog",
  "dontlognull",
  "allbackups",
  "http-server-close",
  "http-pretend-keepalive",
  "http-keep-alive",
  "httpclose",
  "forwardfor",
  "originalto",
  "redispatch",
  "httpchk",
  "tcplog",
  "tcp-check",
  "ssl-hello-chk",
  "mysql-check",
  "pgsql-check",
  "redis-check",
];
export const TIMEOUT_KEYS = [
  "connect",
  "client",
  "server",
  "tunnel",
  "http-request",
  "http-keep-alive",
  "check",
  "queue",
  "client-fin",
  "server-fin",
];
export const DEFAULT_SERVER_KEYS = [
  "check",
  "weight",
  "backup",
  "inter",
  "fastinter",
  "downinter",
  "rise",
  "fall",
  "maxconn",
  "disabled",
  ...DNS_SERVER_KEYS,
  "port",
  "addr",
  "on-marked-down",
];
export const SERVER_KEYS = ["address", ...DEFAULT_SERVER_KEYS, "track", "prefix", "template"];
export const ADMIN_KEYS = ["bind", "token"];

/** HAProxy words that are spelled differently here: the hint replaces "did you mean". */
export const HINTS: Record<string, string> = {
  contimeout: 'write it as timeouts: { connect: ... } ("contimeout" is HAProxy 1.x)',
  clitimeout: 'write it as timeouts: { client: ... } ("clitimeout" is HAProxy 1.x)',
  srvtimeout: 'write it as timeouts: { server: ... } ("srvtimeout" is HAProxy 1.x)',
  timeout: 'did you mean "timeouts"?',
  listen: "a HAProxy `listen` section is a frontend and a backend of the same name in YAML",
  server: 'did you mean "servers"?',
  acl: 'did you mean "acls"?',
  option: 'did you mean "options"?',
};

/** HAProxy accepts these characters in proxy and server names. */
export const NAME_RE = /^[A-Za-z0-9_.:-]+$/;
