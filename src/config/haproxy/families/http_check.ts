// `http-check expect` (one rule), `send` and `disable-on-404`; the other http-check forms are
// refused or ignored.
import type { SrcEntry } from "../../model.ts";
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
    let rest = args.slice(1);
    let neg = "";
    if (rest[0]?.text === "!") {
      neg = "! ";
      rest = rest.slice(1);
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
      c.scalar(`${neg}${kind} ${rest[1].text}`, c.at(l, rest[0])),
      c.at(l, args[0]),
      "be",
    );
    return;
  }
  if (sub === "send") return httpCheckSend(c, x);
  if (sub === "disable-on-404") {
    if (args.length > 1) {
      c.error(c.at(l, args[1]), `'http-check disable-on-404' takes no argument.`);
      return;
    }
    set("http-check.disable-on-404", c.scalar(true, c.at(l, args[0])), c.at(l, args[0]), "be");
    return;
  }
  const table: Record<string, Unsupported> = {
    connect: { level: "error", why: "checks connect to the server's own address" },
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

/** `http-check send [meth M] [uri U] [ver V] [hdr NAME VALUE]... [body STRING]`. */
function httpCheckSend(c: Cfg, x: ProxyLine) {
  const { l, args, set } = x;
  const entries: SrcEntry[] = [];
  const headers: SrcEntry[] = [];
  const keys: Record<string, string> = { meth: "method", uri: "uri", ver: "version", body: "body" };
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a.text === "hdr") {
      const n = args[i + 1];
      const v = args[i + 2];
      if (!n || !v) {
        c.error(c.at(l, a), `'http-check send' : 'hdr' expects <name> and <value> as arguments.`);
        return;
      }
      headers.push({ key: n.text, keyLoc: c.at(l, n), value: c.strNode(l, v) });
      i += 2;
    } else if (a.text in keys) {
      const v = args[i + 1];
      if (!v) {
        c.error(c.at(l, a), `'http-check send' : '${a.text}' expects a value.`);
        return;
      }
      entries.push({ key: keys[a.text], keyLoc: c.at(l, a), value: c.strNode(l, v) });
      i++;
    } else if (a.text === "comment") i++;
    else {
      c.error(
        c.at(l, a),
        a.text === "uri-lf" || a.text === "body-lf"
          ? `'http-check send ${a.text}' is not supported by wtproxy (log-format in checks).`
          : `'http-check send' expects 'meth', 'uri', 'ver', 'hdr', 'body' or 'comment' but ` +
            `got '${a.text}'.`,
      );
      return;
    }
  }
  const loc = c.at(l, args[0]);
  if (headers.length) {
    entries.push({
      key: "headers",
      keyLoc: headers[0].keyLoc,
      value: { kind: "map", entries: headers, loc },
    });
  }
  set("http-check.send", { kind: "map", entries, loc }, loc, "be");
}
