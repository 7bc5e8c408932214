// http-request / http-response rules (and the older `redirect` directive), the ones not
// implemented, and the pre-2.1 req*/rsp* keywords. The rule's words are kept as text: the
// rules room (src/rules/) parses them, for .cfg and YAML alike.
import type { Cfg } from "../context.ts";
import type { Family, ProxyLine } from "./types.ts";

function ruleLine(phase: "httpRequest" | "httpResponse", withKeyword: boolean) {
  return (c: Cfg, x: ProxyLine) => {
    const { l, p, kwLoc, args } = x;
    if (p === null) return;
    const words = withKeyword ? x.words : args;
    if (words.length === 0) {
      c.error(kwLoc, `'${x.kw}' expects an action (e.g. 'set-header X-Forwarded-Proto https').`);
      return;
    }
    p[phase].push({
      text: c.restText(l, words),
      loc: c.at(l, words[0]),
      keyLoc: kwLoc,
      comment: c.takeComment(l),
    });
  };
}

export const HTTP_RULES: Family = {
  proxyDirectives: {
    "http-request": ruleLine("httpRequest", false),
    "http-response": ruleLine("httpResponse", false),
    // `redirect ...` is `http-request redirect ...`.
    redirect: ruleLine("httpRequest", true),
  },
  proxyOnly: ["http-request", "http-response", "redirect"],
  proxy: {
    "http-after-response": { level: "error", why: "HTTP response rules are not supported" },
    "monitor-net": { level: "error", why: "monitor rules are not supported" },
    "unique-id-format": { level: "error", why: "unique request ids are not supported" },
    "unique-id-header": { level: "error", why: "unique request ids are not supported" },
    "http-send-name-header": { level: "error", why: "the server name header is not supported" },
    "rate-limit": { level: "error", why: "rate limits are not supported" },
    filter: { level: "error", why: "filters are not supported" },
  },
  removed: {
    reqadd: "http-request add-header",
    reqallow: "http-request allow",
    reqdel: "http-request del-header",
    reqdeny: "http-request deny",
    reqiallow: "http-request allow",
    reqidel: "http-request del-header",
    reqideny: "http-request deny",
    reqipass: "http-request allow",
    reqirep: "http-request replace-header",
    reqisetbe: "use_backend",
    reqitarpit: "http-request tarpit",
    reqpass: "http-request allow",
    reqrep: "http-request replace-header",
    reqsetbe: "use_backend",
    reqtarpit: "http-request tarpit",
    rspadd: "http-response add-header",
    rspdel: "http-response del-header",
    rspdeny: "http-response deny",
    rspidel: "http-response del-header",
    rspideny: "http-response deny",
    rspirep: "http-response replace-header",
    rsprep: "http-response replace-header",
    block: "http-request deny",
  },
};
