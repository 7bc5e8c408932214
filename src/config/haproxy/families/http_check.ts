// `http-check expect` (one rule); the other http-check forms are refused or ignored.
import type { Cfg } from "../context.ts";
import type { Family, ProxyLine, Unsupported } from "./types.ts";

export const HTTP_CHECK: Family = {
  proxyDirectives: { "http-check": httpCheck },
};

function httpCheck(c: Cfg, x: ProxyLine) {
  const { l, p, args, set } = x;
  if (!x.capable("be", "http-check")) return;
  const kwLoc = c.at(l, l.words[0]);
  const sub = args[0]?.text;
  if (sub === "expect") {
    const rest = args.slice(1);
    if (rest[0]?.text === "!") {
      c.error(
        c.at(l, rest[0]),
        `'http-check expect !' (negated match) is not supported by wtproxy: a check would ` +
          `pass when HAProxy fails it.`,
      );
      return;
    }
    if (rest.length < 2) {
      c.error(
        kwLoc,
        `'http-check expect' : expects at least a matching pattern as arguments.`,
      );
      return;
    }
    const kind = rest[0].text;
    if (!["status", "rstatus", "string", "rstring"].includes(kind)) {
      c.error(
        c.at(l, rest[0]),
        `'http-check expect ${kind}' is not supported by wtproxy: use 'status', 'rstatus', ` +
          `'string' or 'rstring'.`,
      );
      return;
    }
    if (rest.length > 2) {
      c.error(
        c.at(l, rest[2]),
        `'http-check expect' : unexpected argument '${rest[2].text}' (wtproxy supports ` +
          `'http-check expect <status|rstatus|string|rstring> <pattern>' only).`,
      );
      return;
    }
    if (p) {
      p.expectCount++;
      if (p.expectCount > 1) {
        c.error(
          kwLoc,
          `only one 'http-check expect' rule per backend is supported by wtproxy.`,
        );
        return;
      }
    }
    set(
      "http-check.expect",
      c.scalar(`${kind} ${rest[1].text}`, c.at(l, rest[0])),
      c.at(l, args[0]),
      "be",
    );
    return;
  }
  const table: Record<string, Unsupported> = {
    send: { level: "error", why: "the check request is set with 'option httpchk'" },
    connect: { level: "error", why: "checks connect to the server's own address" },
    "disable-on-404": { level: "error", why: "a 404 answer fails the check" },
    "set-var": { level: "error", why: "check variables are not supported" },
    "unset-var": { level: "error", why: "check variables are not supported" },
    "send-state": { level: "warn", why: "the check request carries no state header" },
    comment: { level: "warn", why: "not used" },
  };
  const u = sub ? table[sub] : undefined;
  if (!u) {
    c.error(
      args[0] ? c.at(l, args[0]) : kwLoc,
      `'http-check' expects 'comment', 'connect', 'disable-on-404', 'expect', 'send', ` +
        `'send-state', 'set-var' or 'unset-var' but got '${sub ?? ""}'.`,
    );
    return;
  }
  c.unsupported(l, u, `http-check ${sub}`);
}
