// Health-check variants other than plain TCP and `option httpchk`: not implemented.
import type { Family } from "./types.ts";
import { e, pe, pw, w } from "./types.ts";

export const CHECKS: Family = {
  global: {
    "external-check": { level: "error", why: "wtproxy does not run external check programs" },
  },
  proxy: {
    "tcp-check": { level: "error", why: "TCP check scripts are not supported" },
    "external-check": { level: "error", why: "external check programs are not supported" },
  },
  options: {
    "log-health-checks": w("be", "health-check state changes are logged anyway"),
    checkcache: w("be", "responses are not inspected for cacheability"),
    "tcp-check": e("be", "TCP check scripts are not supported (plain TCP checks are)"),
    smtpchk: e("be", "only TCP and HTTP checks are supported"),
    "mysql-check": e("be", "only TCP and HTTP checks are supported"),
    "pgsql-check": e("be", "only TCP and HTTP checks are supported"),
    "redis-check": e("be", "only TCP and HTTP checks are supported"),
    "ldap-check": e("be", "only TCP and HTTP checks are supported"),
    "spop-check": e("be", "only TCP and HTTP checks are supported"),
    "external-check": e("be", "only TCP and HTTP checks are supported"),
  },
  server: {
    "error-limit": pw("value", "only health checks change a server's state"),
    "agent-inter": pw("value", "agent checks are not supported"),
    "agent-port": pw("value", "agent checks are not supported"),
    "agent-addr": pw("value", "agent checks are not supported"),
    "agent-send": pw("value", "agent checks are not supported"),
    port: pe("value", "checks go to the server's own address and port"),
    addr: pe("value", "checks go to the server's own address and port"),
    "agent-check": pe("flag", "agent checks are not supported"),
    observe: pe("value", "only health checks change a server's state"),
    "on-error": pe("value", "only health checks change a server's state"),
    "on-marked-down": pe("value", "connections are not cut when a server goes down"),
    "on-marked-up": pe("value", "connections are not cut when a server comes up"),
    "check-send-proxy": pe("flag", "the PROXY protocol is not supported"),
  },
};
