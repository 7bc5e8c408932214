// `log` in global, defaults and proxies (targets, `log global`, `no log`).
import type { SrcEntry, SrcMap } from "../../model.ts";
import { FACILITIES, LEVELS } from "../../model.ts";
import type { Cfg, DefaultsSec, LogItem, ProxyRec } from "../context.ts";
import type { Line, Word } from "../words.ts";
import { expandAddressVars } from "../words.ts";
import type { Family } from "./types.ts";

const FACILITY_NAMES: ReadonlySet<string> = new Set(FACILITIES);
const LEVEL_NAMES: ReadonlySet<string> = new Set(LEVELS);

export const LOG: Family = {
  proxyDirectives: { log: (c, x) => proxyLog(c, x.l, x.p, x.d, x.args, x.negate) },
  globalDirectives: {
    log: (c, { l, args }) => {
      if (args[0]?.text === "global") {
        c.error(c.at(l, args[0]), `'global' is not supported for a global syslog server.`);
        return;
      }
      const t = logTarget(c, l, args);
      if (!t) return;
      if (c.globalLogKeyLoc === null) c.globalLogKeyLoc = c.at(l, l.words[0]);
      t.comment = c.takeComment(l);
      c.globalLog.push(t);
    },
  },
  negatable: ["log"],
};

/** `log <address> [len N] [format F] [sample R:S] <facility> [<level> [<minlevel>]]`. */
export function logTarget(c: Cfg, l: Line, args: Word[]): SrcMap | null {
  const kwLoc = c.at(l, l.words[0]);
  if (args.length < 2) {
    c.error(kwLoc, `log : expects <address> and <facility> or global as arguments`);
    return null;
  }
  const addrW = expandAddressVars(c, l, args[0]);
  const addrLoc = c.at(l, addrW);
  let address = addrW.text;
  const pfx = /^([a-z0-9]+)@(.*)$/.exec(address);
  if (address === "stdout" || address === "fd@1") address = "stdout";
  else if (address === "stderr" || address === "fd@2") {
    c.error(
      addrLoc,
      `log : target '${addrW.text}' is not supported by wtproxy: use 'stdout', a UDP syslog ` +
        `address or a unix socket such as /dev/log`,
    );
    return null;
  } else if (pfx) {
    const [, proto, rest] = pfx;
    if (["udp", "udp4", "udp6", "ipv4", "ipv6"].includes(proto)) address = rest;
    else if (proto === "unix") address = rest;
    else {
      c.error(
        addrLoc,
        `log : target '${addrW.text}' is not supported by wtproxy: use 'stdout', a UDP syslog ` +
          `address or a unix socket such as /dev/log`,
      );
      return null;
    }
  }
  const entries: SrcEntry[] = [{
    key: "address",
    keyLoc: addrLoc,
    value: c.scalar(address, addrLoc),
  }];
  let i = 1;
  let format: string | null = null;
  while (i < args.length && ["len", "format", "sample"].includes(args[i].text)) {
    const opt = args[i];
    const val = args[i + 1];
    if (!val) {
      c.error(c.at(l, opt), `log : '${opt.text}' expects a value`);
      return null;
    }
    if (opt.text === "len") {
      c.warn(
        c.at(l, opt),
        `log : 'len ${val.text}' is ignored: wtproxy truncates syslog lines at 1024 bytes`,
      );
    } else if (opt.text === "sample") {
      c.warn(
        c.at(l, opt),
        `log : 'sample ${val.text}' is ignored: every line is sent to this target`,
      );
    } else {
      format = val.text;
      const fLoc = c.at(l, val);
      if (format === "rfc3164") {
        c.warn(
          fLoc,
          `log : format 'rfc3164' is sent without the hostname field, like HAProxy's 'local'`,
        );
      } else if (format !== "local") {
        if (
          !["rfc5424", "priority", "short", "timed", "iso", "raw"].includes(format)
        ) {
          c.error(fLoc, `log : unknown log format '${format}'`);
          return null;
        }
        c.warn(
          fLoc,
          `log : format '${format}' is not supported: lines are sent in HAProxy's 'local' ` +
            `syslog format`,
        );
      }
    }
    i += 2;
  }
  const fac = args[i];
  if (!fac) {
    c.error(kwLoc, `log : expects <address> and <facility> or global as arguments`);
    return null;
  }
  if (!FACILITY_NAMES.has(fac.text)) {
    c.error(c.at(l, fac), `log : unknown log facility '${fac.text}'`);
    return null;
  }
  entries.push({ key: "facility", keyLoc: c.at(l, fac), value: c.strNode(l, fac) });
  const lvl = args[i + 1];
  if (lvl) {
    if (!LEVEL_NAMES.has(lvl.text)) {
      c.error(c.at(l, lvl), `log : unknown optional log level '${lvl.text}'`);
      return null;
    }
    entries.push({ key: "level", keyLoc: c.at(l, lvl), value: c.strNode(l, lvl) });
  }
  const min = args[i + 2];
  if (min) {
    if (!LEVEL_NAMES.has(min.text)) {
      c.error(c.at(l, min), `log : unknown optional minimum log level '${min.text}'`);
      return null;
    }
    entries.push({ key: "min-level", keyLoc: c.at(l, min), value: c.strNode(l, min) });
  }
  if (args[i + 3]) {
    c.error(
      c.at(l, args[i + 3]),
      `log : cannot handle unexpected argument '${args[i + 3].text}'`,
    );
    return null;
  }
  return { kind: "map", entries, loc: addrLoc };
}

export function proxyLog(
  c: Cfg,
  l: Line,
  p: ProxyRec | null,
  d: DefaultsSec | null,
  args: Word[],
  negate: boolean,
) {
  const kwLoc = c.at(l, l.words[0]);
  const comment = c.takeComment(l);
  if (negate) {
    if (args[0]) {
      c.unexpected(l, "no log", args[0]);
      return;
    }
    if (p) {
      p.noLog = true;
      p.log = [];
      p.logKeyLoc = kwLoc;
    } else {
      d!.log = [];
      d!.logSet = true;
      d!.logKeyLoc = kwLoc;
    }
    if (comment) c.keep(comment);
    return;
  }
  let item: LogItem;
  if (args[0]?.text === "global") {
    if (!c.noExtra(l, "log global", 1)) return;
    item = { kind: "global", loc: c.at(l, args[0]), comment };
  } else {
    const t = logTarget(c, l, args);
    if (!t) return;
    t.comment = comment;
    item = { kind: "target", node: t };
  }
  if (p) {
    p.log.push(item);
    p.logKeyLoc ??= kwLoc;
  } else {
    d!.log.push(item);
    d!.logSet = true;
    d!.logKeyLoc ??= kwLoc;
  }
}
