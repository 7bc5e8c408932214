// `bind` parameters other than TLS (the directive is in bind.ts).
import type { Family } from "./types.ts";
import { pe, pw } from "./types.ts";

export const BIND_PARAM_NAMES: Family = {
  bind: {
    name: pw("value", "listeners have no names"),
    id: pw("value", "listeners have no numeric ids"),
    process: pw("value", "wtproxy runs one process"),
    thread: pw("value", "wtproxy runs one event loop"),
    nice: pw("value", "not supported"),
    backlog: pw("value", "the listen backlog is the system default"),
    maxconn: pw("value", "the frontend's maxconn limits its connections"),
    "defer-accept": pw("flag", "not supported"),
    tfo: pw("flag", "not supported"),
    v4v6: pw("flag", "the wildcard address follows the system's IPv6 settings"),
    v6only: pw("flag", "the wildcard address follows the system's IPv6 settings"),
    level: pw("value", "stats sockets are not supported"),
    "severity-output": pw("value", "stats sockets are not supported"),
    "expose-fd": pw("value", "stats sockets are not supported"),
    mode: pw("value", "unix sockets are not supported"),
    uid: pw("value", "unix sockets are not supported"),
    gid: pw("value", "unix sockets are not supported"),
    user: pw("value", "unix sockets are not supported"),
    group: pw("value", "unix sockets are not supported"),
    mss: pw("value", "not supported"),
    "tcp-ut": pw("value", "not supported"),
    "accept-netscaler-cip": pe("value", "NetScaler client IP insertion is not supported"),
    transparent: pe("flag", "transparent proxying is not supported"),
    interface: pe("value", "binding to an interface is not supported: bind its address"),
    namespace: pe("value", "network namespaces are not supported"),
    proto: pe("value", "clients are spoken to in HTTP/1.1 (and HTTP/2 over TLS)"),
  },
};
