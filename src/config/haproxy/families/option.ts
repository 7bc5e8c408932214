// `option NAME [args]` (the names and what wtproxy does with each: option_names.ts).
import { option26 } from "./haproxy26.ts";
import type { SrcEntry } from "../../model.ts";
import type { Cfg } from "../context.ts";
import { OPTIONS } from "./index.ts";
import type { Family, ProxyLine } from "./types.ts";

/** The options that choose a check type (one per proxy). */
export const CHECK_OPTIONS = [
  "httpchk",
  "tcp-check",
  "ssl-hello-chk",
  "mysql-check",
  "pgsql-check",
  "redis-check",
];

export const OPTION: Family = {
  proxyDirectives: { option },
  negatable: ["option"],
};

function option(c: Cfg, x: ProxyLine) {
  const { l, words, negate, capable, set } = x;
  const kwLoc = c.at(l, words[0]);
  const nameW = words[1];
  if (!nameW) {
    c.error(kwLoc, `'option' expects an option name.`);
    return;
  }
  const name = nameW.text;
  const nameLoc = c.at(l, nameW);
  const args = words.slice(2);
  const spec = OPTIONS[name] ?? option26(name);
  if (!spec) {
    c.error(nameLoc, `unknown option '${name}'.`);
    return;
  }
  if (!capable(spec.cap, name)) return;
  if (spec.unsupported) {
    if (negate) {
      c.warn(
        nameLoc,
        `'no option ${name}' is ignored: wtproxy does not implement 'option ${name}' anyway.`,
      );
      c.noteIgnored(l, "ignored by wtproxy");
      return;
    }
    c.unsupported(l, spec.unsupported, `option ${name}`);
    return;
  }
  const key = `options.${name}`;
  if (negate) {
    if (args[0]) {
      c.unexpected(l, `no option ${name}`, args[0]);
      return;
    }
    set(key, c.scalar(false, nameLoc), nameLoc, spec.cap);
    return;
  }
  // HAProxy keeps one check type per proxy: the last `option` naming one wins.
  if (CHECK_OPTIONS.includes(name)) {
    for (const other of CHECK_OPTIONS) if (other !== name) x.settings.delete(`options.${other}`);
  }
  const flagOnly = () => {
    if (args[0]) {
      c.unexpected(l, `option ${name}`, args[0]);
      return false;
    }
    return true;
  };
  switch (name) {
    case "httplog":
      if (args[0]?.text === "clf") {
        c.warn(
          c.at(l, args[0]),
          `'option httplog clf' : the CLF log format is not supported: lines use the httplog format`,
        );
        if (args[1]) {
          c.unexpected(l, "option httplog", args[1]);
          return;
        }
      } else if (!flagOnly()) return;
      set(key, c.scalar(true, nameLoc), nameLoc, spec.cap);
      return;
    case "redispatch": {
      if (args[1]) {
        c.unexpected(l, "option redispatch", args[1]);
        return;
      }
      let value = true;
      if (args[0]) {
        const n = Number(args[0].text);
        if (!/^-?\d+$/.test(args[0].text)) {
          c.error(
            c.at(l, args[0]),
            `'option redispatch' expects an integer interval, got '${args[0].text}'.`,
          );
          return;
        }
        if (n === 0) value = false;
        else if (n !== -1) {
          c.warn(
            c.at(l, args[0]),
            `'option redispatch ${n}': the interval is ignored: wtproxy redispatches on the ` +
              `last retry, and at once in a round-robin backend with other usable servers`,
          );
        }
      }
      set(key, c.scalar(value, nameLoc), nameLoc, spec.cap);
      return;
    }
    case "forwardfor":
    case "originalto": {
      const entries: SrcEntry[] = [];
      let i = 0;
      const allowed = name === "forwardfor"
        ? ["except", "header", "if-none"]
        : ["except", "header"];
      while (i < args.length) {
        const a = args[i];
        if (!allowed.includes(a.text)) {
          c.error(
            c.at(l, a),
            name === "forwardfor"
              ? `'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.`
              : `'option originalto' only supports optional values: 'except' and 'header'.`,
          );
          return;
        }
        if (a.text === "if-none") {
          entries.push({
            key: "if-none",
            keyLoc: c.at(l, a),
            value: c.scalar(true, c.at(l, a)),
          });
          i++;
          continue;
        }
        const v = args[i + 1];
        if (!v) {
          c.error(
            c.at(l, a),
            `'option ${name}' '${a.text}' expects ${
              a.text === "except" ? "<address>[/mask]" : "<header_name>"
            } as argument.`,
          );
          return;
        }
        entries.push({ key: a.text, keyLoc: c.at(l, a), value: c.strNode(l, v) });
        i += 2;
      }
      set(
        key,
        entries.length ? { kind: "map", entries, loc: nameLoc } : c.scalar(true, nameLoc),
        nameLoc,
        spec.cap,
      );
      return;
    }
    case "mysql-check": {
      if (!args[0]) {
        set(key, c.scalar(true, nameLoc), nameLoc, spec.cap);
        return;
      }
      if (args[0].text !== "user") {
        c.error(
          c.at(l, args[0]),
          `'option mysql-check' only supports optional values: 'user' (got '${args[0].text}').`,
        );
        return;
      }
      if (!args[1]) {
        c.error(c.at(l, args[0]), `'option mysql-check user' expects <username> as argument.`);
        return;
      }
      const entries: SrcEntry[] = [
        { key: "user", keyLoc: c.at(l, args[0]), value: c.strNode(l, args[1]) },
      ];
      if (args[2]) {
        if (args[2].text !== "post-41" && args[2].text !== "pre-41") {
          c.error(
            c.at(l, args[2]),
            `keyword 'user' only supports 'post-41' and 'pre-41' (got '${args[2].text}').`,
          );
          return;
        }
        if (args[3]) {
          c.unexpected(l, "option mysql-check", args[3]);
          return;
        }
        if (args[2].text === "pre-41") {
          entries.push({
            key: "pre-41",
            keyLoc: c.at(l, args[2]),
            value: c.scalar(true, c.at(l, args[2])),
          });
        }
      }
      set(key, { kind: "map", entries, loc: nameLoc }, nameLoc, spec.cap);
      return;
    }
    case "pgsql-check": {
      if (args[0]?.text !== "user" || !args[1]) {
        c.error(
          args[0] ? c.at(l, args[0]) : nameLoc,
          `'option pgsql-check' expects 'user <username>' as argument.`,
        );
        return;
      }
      if (args[2]) {
        c.unexpected(l, "option pgsql-check", args[2]);
        return;
      }
      set(
        key,
        {
          kind: "map",
          entries: [{ key: "user", keyLoc: c.at(l, args[0]), value: c.strNode(l, args[1]) }],
          loc: nameLoc,
        },
        nameLoc,
        spec.cap,
      );
      return;
    }
    case "httpchk": {
      if (args.length > 3) {
        c.unexpected(l, "option httpchk", args[3]);
        return;
      }
      if (args.length === 0) {
        set(key, c.scalar(true, nameLoc), nameLoc, spec.cap);
        return;
      }
      const keys = args.length === 1 ? ["uri"] : ["method", "uri", "version"];
      const entries: SrcEntry[] = args.map((a, j) => ({
        key: keys[j],
        keyLoc: c.at(l, a),
        value: c.strNode(l, a),
      }));
      set(key, { kind: "map", entries, loc: nameLoc }, nameLoc, spec.cap);
      return;
    }
    default:
      if (!flagOnly()) return;
      set(key, c.scalar(true, nameLoc), nameLoc, spec.cap);
  }
}
