// `server` / `default-server` parameters (the directives are in server.ts).
import type { Family } from "./types.ts";
import { pe, pw } from "./types.ts";

export const SERVER_PARAM_NAMES: Family = {
  server: {
    check: { kind: "flag", key: "check", flagValue: true },
    "no-check": { kind: "flag", key: "check", flagValue: false },
    track: { kind: "value", key: "track", type: "string" },
    weight: { kind: "value", key: "weight", type: "int" },
    backup: { kind: "flag", key: "backup", flagValue: true },
    "no-backup": { kind: "flag", key: "backup", flagValue: false },
    inter: { kind: "value", key: "inter", type: "duration" },
    fastinter: { kind: "value", key: "fastinter", type: "duration" },
    downinter: { kind: "value", key: "downinter", type: "duration" },
    rise: { kind: "value", key: "rise", type: "int" },
    fall: { kind: "value", key: "fall", type: "int" },
    maxconn: { kind: "value", key: "maxconn", type: "int" },
    disabled: { kind: "flag", key: "disabled", flagValue: true },
    enabled: { kind: "flag", key: "disabled", flagValue: false },
    id: pw("value", "servers have no numeric ids"),
    slowstart: pw("value", "a recovered server gets its full weight at once"),
    maxqueue: pw("value", "the queue is bounded by 'timeout queue'"),
    minconn: pw("value", "server maxconn is not scaled dynamically"),
    "pool-max-conn": pw("value", "server connections follow the http-server-close mode"),
    "pool-low-conn": pw("value", "server connections follow the http-server-close mode"),
    "pool-purge-delay": pw("value", "server connections follow the http-server-close mode"),
    "max-reuse": pw("value", "server connections follow the http-server-close mode"),
    "log-proto": pw("value", "not used"),
    tfo: pw("flag", "not supported"),
    "no-tfo": pw("flag", "not supported"),
    redir: pe("value", "redirects are not supported"),
    source: pe("value", "choosing the source address is not supported"),
    usesrc: pe("value", "choosing the source address is not supported"),
    namespace: pe("value", "network namespaces are not supported"),
    proto: pe("value", "servers are spoken to in HTTP/1.1"),
    ws: pe("value", "WebSocket goes to servers in HTTP/1.1"),
  },
};
