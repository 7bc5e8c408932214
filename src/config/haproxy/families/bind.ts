// `bind ADDR[,ADDR...] [params]` (the parameters: bind_params.ts, tls.ts...).
import { bind26 } from "./haproxy26.ts";
import type { Loc } from "../../model.ts";
import type { Cfg } from "../context.ts";
import { ParamRefusals } from "../context.ts";
import type { Line, Word } from "../words.ts";
import { expandAddressVars } from "../words.ts";
import { BIND_PARAMS } from "./index.ts";
import type { Family, ProxyLine } from "./types.ts";

export const BIND: Family = {
  proxyDirectives: { bind },
  proxyOnly: ["bind"],
};

function bind(c: Cfg, x: ProxyLine) {
  const { l, args } = x;
  if (!x.capable("fe", "bind")) return;
  const p = x.p!;
  const kwLoc = c.at(l, l.words[0]);
  if (!args[0]) {
    c.error(
      kwLoc,
      `'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.`,
    );
    return;
  }
  const comment = c.takeComment(l);
  const addrW = expandAddressVars(c, l, args[0]);
  const out = bindAddresses(c, l, addrW);
  // parameters
  const refusals = new ParamRefusals();
  const what = `'bind ${addrW.text}'`;
  let i = 1;
  while (i < args.length) {
    const a = args[i];
    const spec = BIND_PARAMS[a.text] ?? bind26(a.text);
    if (!spec) {
      refusals.report(c, what);
      c.error(c.at(l, a), `'bind ${addrW.text}' unknown keyword '${a.text}'.`);
      return;
    }
    if (spec.kind === "value" && !args[i + 1]) {
      refusals.report(c, what);
      c.error(c.at(l, a), `'bind ${addrW.text}' : '${a.text}' expects an argument.`);
      return;
    }
    refusals.add(a.text, c.at(l, a), spec.unsupported!);
    i += spec.kind === "value" ? 2 : 1;
  }
  refusals.report(c, what);
  if (out === null) return;
  p.bindKeyLoc ??= kwLoc;
  out.forEach((b, j) => p.binds.push({ ...b, comment: j === 0 ? comment : undefined }));
}

/** The listening addresses of a bind word: comma lists, `ipv4@` prefixes, port ranges.
 * Null when one of them is refused (the error is reported). */
export function bindAddresses(c: Cfg, l: Line, addrW: Word): { text: string; loc: Loc }[] | null {
  // comma lists: locate each part in the raw text when the word was written plainly
  let offset = 0;
  let ok = true;
  const parts = addrW.text.split(",");
  const out: { text: string; loc: Loc }[] = [];
  for (const part of parts) {
    const col = addrW.processed ? addrW.col : addrW.col + offset;
    offset += part.length + 1;
    const loc = c.loc(l.no, col);
    let text = part.trim();
    const pm = /^([a-z0-9]+)@(.*)$/.exec(text);
    if (pm) {
      if (["ipv4", "ipv6", "tcp", "tcp4", "tcp6"].includes(pm[1])) text = pm[2];
      else {
        c.error(
          loc,
          `'bind ${part}' : '${pm[1]}@' addresses are not supported: wtproxy listens on TCP ` +
            `addresses only (host:port).`,
        );
        ok = false;
        continue;
      }
    } else if (text.startsWith("/")) {
      c.error(
        loc,
        `'bind ${part}' : unix sockets are not supported: wtproxy listens on TCP addresses only (host:port).`,
      );
      ok = false;
      continue;
    }
    const range = /^(.*):(\d+)-(\d+)$/.exec(text);
    if (range) {
      const lo = Number(range[2]);
      const hi = Number(range[3]);
      if (hi < lo || hi - lo > 1000) {
        c.error(loc, `'bind ${part}' : invalid port range '${range[2]}-${range[3]}'.`);
        ok = false;
        continue;
      }
      for (let port = lo; port <= hi; port++) out.push({ text: `${range[1]}:${port}`, loc });
      continue;
    }
    out.push({ text, loc });
  }
  return ok ? out : null;
}
