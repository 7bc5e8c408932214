// Health-check keywords: the server's check port/addr and on-marked-down are implemented
// here; the check types wtproxy does not run are refused.
import type { Family } from "./types.ts";
import { e, pe, pw, w } from "./types.ts";

export const CHECKS: Family = {
  global: {
    "external-check": { level: "error", why: "wtproxy does not run external check programs" },
  },
  proxy: {
    "external-check": { level: "error", why: "external check programs are not supported" },
  },
  options: {
    "log-health-checks": w("be", "health-check state changes are logged anyway"),
    checkcache: w("be", "responses are not inspected for cacheability"),
    smtpchk: e("be", "not among the checks wtproxy runs (tcp-check rules can test SMTP)"),
    "ldap-check": e("be", "not among the checks wtproxy runs"),
    "spop-check": e("be", "not among the checks wtproxy runs"),
    "external-check": e("be", "external check programs are not supported"),
  },
  server: {
    "error-limit": pw("value", "only health checks change a server's state"),
    "agent-inter": pw("value", "agent checks are not supported"),
    "agent-port": pw("value", "agent checks are not supported"),
    "agent-addr": pw("value", "agent checks are not supported"),
    "agent-send": pw("value", "agent checks are not supported"),
    port: { kind: "value", key: "port", type: "int" },
    addr: { kind: "value", key: "addr", type: "string" },
    "agent-check": pe("flag", "agent checks are not supported"),
    observe: pe("value", "only health checks change a server's state"),
    "on-error": pe("value", "only health checks change a server's state"),
    "on-marked-down": { kind: "value", key: "on-marked-down", type: "string" },
    "on-marked-up": pe("value", "connections are not cut when a server comes up"),
    "check-send-proxy": pe("flag", "the PROXY protocol is not supported"),
  },
};
