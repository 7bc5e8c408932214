// Other HAProxy keywords wtproxy does not implement (sections, proxy keywords, Lua).
import type { Family } from "./types.ts";

export const MISC: Family = {
  sections: {
    userlist: "wtproxy has no HTTP authentication ('http-request auth' is not supported either)",
    mailers: "wtproxy sends no e-mail alerts; watch its log or metrics instead",
    program: "start such programs from your service manager (systemd, the container runtime)",
    ring: "wtproxy logs to syslog (UDP or unix socket) or stdout only",
    cache: "wtproxy has no HTTP cache",
    "fcgi-app": "wtproxy speaks HTTP to servers, not FastCGI",
  },
  global: {
    "lua-load": { level: "error", why: "wtproxy does not run Lua scripts" },
    "lua-load-per-thread": { level: "error", why: "wtproxy does not run Lua scripts" },
    "lua-prepend-path": { level: "error", why: "wtproxy does not run Lua scripts" },
  },
  proxy: {
    dispatch: { level: "error", why: "'dispatch' is not supported: declare a 'server'" },
    source: { level: "error", why: "choosing the source address is not supported" },
    "retry-on": { level: "error", why: "wtproxy retries on connection failures only" },
    disabled: { level: "error", why: "a disabled proxy would run: remove the section instead" },
    "use-fcgi-app": { level: "error", why: "wtproxy speaks HTTP to servers, not FastCGI" },
    "email-alert": { level: "warn", why: "wtproxy sends no e-mail alerts" },
    "http-reuse": { level: "warn", why: "server connections follow the http-server-close mode" },
    "hash-type": { level: "warn", why: "wtproxy uses its own hash for hash-based balancing" },
    compression: { level: "warn", why: "responses are passed through uncompressed by wtproxy" },
    fullconn: { level: "warn", why: "server maxconn is not scaled dynamically" },
    "bind-process": { level: "warn", why: "wtproxy runs one process" },
    backlog: { level: "warn", why: "the listen backlog is the system default" },
    "max-keep-alive-queue": { level: "warn", why: "not supported" },
    "load-server-state-from-file": { level: "warn", why: "server states survive reloads anyway" },
    "server-state-file-name": { level: "warn", why: "server states survive reloads anyway" },
    description: { level: "warn", why: "the stats page shows no description" },
    id: { level: "warn", why: "proxies have no numeric ids" },
    enabled: { level: "warn", why: "proxies are enabled by default" },
    grace: { level: "warn", why: "wtproxy drains connections for a fixed grace time" },
  },
};
