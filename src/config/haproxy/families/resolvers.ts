// DNS discovery: the `resolvers NAME` section (nameserver, parse-resolv-conf, hold,
// resolve_retries, timeout resolve|retry, accepted_payload_size), `server-template`, and the
// server keywords resolvers / resolve-prefer / init-addr. Values are checked by the builder
// (src/config/build/dns.ts) for both formats.
import type { SrcEntry, SrcMap } from "../../model.ts";
import type { Cfg, ResolversRec } from "../context.ts";
import { PROXY_NAME_OK } from "../context.ts";
import type { Line } from "../words.ts";
import { server } from "./server.ts";
import type { Family } from "./types.ts";
import { pw } from "./types.ts";

export const RESOLVERS: Family = {
  proxyDirectives: {
    "server-template": (c, x) => {
      if (!x.capable("be", "server-template", true)) return;
      if (x.p === null) return;
      const [prefix, num, addr, ...rest] = x.args;
      if (!prefix || !num || !addr) {
        c.error(
          x.kwLoc,
          `'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.`,
        );
        return;
      }
      if (!/^\d+(-\d+)?$/.test(num.text)) {
        c.error(
          c.at(x.l, num),
          `'server-template ${prefix.text}': invalid range '${num.text}' (a number or N-M).`,
        );
        return;
      }
      const before = x.p.servers.length;
      server(c, x.l, x.p, [prefix, addr, ...rest], "server-template");
      const rec = x.p.servers[before];
      if (!rec || x.p.servers.length === before) return;
      const count = /^\d+$/.test(num.text) ? Number(num.text) : num.text;
      const fields = [...rec.fields];
      fields.splice(1, 0, [
        "template",
        { node: c.scalar(count, c.at(x.l, num)), keyLoc: c.at(x.l, num) },
      ]);
      rec.fields = new Map(fields);
    },
  },
  proxyOnly: ["server-template"],
  server: {
    resolvers: { kind: "value", key: "resolvers", type: "string" },
    "resolve-prefer": { kind: "value", key: "resolve-prefer", type: "string" },
    "init-addr": { kind: "value", key: "init-addr", type: "string" },
    "resolve-opts": pw("value", "duplicate addresses are never given to two slots"),
    "resolve-net": pw("value", "the preferred family's first address is used"),
  },
};

/** `resolvers NAME`: the section's record (its lines come through resolversLine). */
export function startResolvers(c: Cfg, l: Line): ResolversRec {
  const kwLoc = c.at(l, l.words[0]);
  const nameW = l.words[1];
  const rec: ResolversRec = {
    name: nameW?.text ?? "",
    keyLoc: kwLoc,
    nameLoc: nameW ? c.at(l, nameW) : kwLoc,
    comment: c.takeComment(l),
    entries: new Map(),
  };
  if (!nameW) {
    c.error(kwLoc, `missing name for resolvers section.`);
    return rec;
  }
  if (!PROXY_NAME_OK.test(nameW.text)) {
    const bad = [...nameW.text].find((ch) => !/[A-Za-z0-9_.:-]/.test(ch));
    c.error(rec.nameLoc, `character '${bad}' is not permitted in 'resolvers' name '${rec.name}'.`);
    return rec;
  }
  const dup = c.resolvers.find((x) => x.name === rec.name);
  if (dup) {
    c.error(
      rec.nameLoc,
      `resolvers '${rec.name}' has the same name as another resolvers section declared at ` +
        `${dup.keyLoc.file}:${dup.keyLoc.line}.`,
    );
    return rec;
  }
  if (l.words[2]) c.unexpected(l, "resolvers", l.words[2]);
  c.resolvers.push(rec);
  return rec;
}

const HOLD = ["nx", "timeout", "valid", "other", "refused", "obsolete"];

/** One line of a `resolvers` section. */
export function resolversLine(c: Cfg, l: Line, rec: ResolversRec) {
  const [kwW, ...args] = l.words;
  const kw = kwW.text;
  const kwLoc = c.at(l, kwW);
  const comment = c.takeComment(l);
  const set = (key: string, e: Omit<SrcEntry, "key">) => {
    rec.entries.delete(key);
    rec.entries.set(key, { key, ...e });
  };
  /** The sub-map `key` (nameservers, hold, timeouts), created on first use. */
  const sub = (key: string): SrcMap => {
    let e = rec.entries.get(key);
    if (!e || e.value.kind !== "map") {
      e = { key, keyLoc: kwLoc, value: { kind: "map", entries: [], loc: kwLoc }, comment };
      rec.entries.set(key, e);
    }
    return e.value as SrcMap;
  };
  const put = (m: SrcMap, key: string, e: Omit<SrcEntry, "key">) => {
    m.entries = m.entries.filter((x) => x.key !== key);
    m.entries.push({ key, ...e });
  };
  switch (kw) {
    case "nameserver": {
      const [name, addr] = args;
      if (!name || !addr) {
        c.error(kwLoc, `'nameserver' expects <name> and <addr>[:<port>] as arguments.`);
        return;
      }
      const m = sub("nameservers");
      const dup = m.entries.find((x) => x.key === name.text);
      if (dup) {
        c.error(
          c.at(l, name),
          `nameserver '${name.text}' has same name as another nameserver (declared at ` +
            `${dup.keyLoc.file}:${dup.keyLoc.line}).`,
        );
        return;
      }
      let text = addr.text;
      if (text.startsWith("udp@")) text = text.slice(4);
      else if (text.startsWith("tcp@")) {
        text = text.slice(4);
        c.warn(
          c.at(l, addr),
          `'tcp@' nameserver: wtproxy asks over UDP, and over TCP when an answer is truncated.`,
        );
      }
      put(m, name.text, {
        keyLoc: c.at(l, name),
        value: c.scalar(text, c.at(l, addr)),
        comment,
      });
      c.noExtra(l, "nameserver", 2);
      return;
    }
    case "parse-resolv-conf":
      set("parse-resolv-conf", { keyLoc: kwLoc, value: c.scalar(true, kwLoc), comment });
      c.noExtra(l, kw, 0);
      return;
    case "hold": {
      const [status, time] = args;
      if (!status || !time) {
        c.error(kwLoc, `'hold' expects an <event> and a <time> as arguments.`);
        return;
      }
      if (!HOLD.includes(status.text)) {
        c.error(
          c.at(l, status),
          `'hold' unknown <event>: '${status.text}', expects either 'nx', 'timeout', ` +
            `'valid', 'other', 'refused' or 'obsolete'.`,
        );
        return;
      }
      put(sub("hold"), status.text, {
        keyLoc: c.at(l, status),
        value: c.durationNode(l, time),
        comment,
      });
      c.noExtra(l, kw, 2);
      return;
    }
    case "resolve_retries":
    case "accepted_payload_size":
      if (!args[0]) {
        c.error(kwLoc, `'${kw}' expects <nb> as argument.`);
        return;
      }
      set(kw, { keyLoc: kwLoc, value: c.intNode(l, args[0]), comment });
      c.noExtra(l, kw, 1);
      return;
    case "timeout": {
      const [which, time] = args;
      if (!which || !time || (which.text !== "resolve" && which.text !== "retry")) {
        c.error(kwLoc, `'timeout' expects 'retry' or 'resolve' and <time> as arguments.`);
        return;
      }
      put(sub("timeouts"), which.text, {
        keyLoc: c.at(l, which),
        value: c.durationNode(l, time),
        comment,
      });
      c.noExtra(l, kw, 2);
      return;
    }
    case "resolution_pool_size":
      c.warn(kwLoc, `'resolution_pool_size' is deprecated (HAProxy ignores it too) and ignored.`);
      c.noteIgnored(l, "ignored by wtproxy");
      return;
    default:
      c.error(kwLoc, `unknown keyword '${kw}' in 'resolvers' section`);
  }
}
