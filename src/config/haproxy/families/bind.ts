// `bind ADDR[,ADDR...] [params]` (the parameters: bind_params.ts, tls.ts...).
import { bind26 } from "./haproxy26.ts";
import type { Loc } from "../../model.ts";
import type { Cfg } from "../context.ts";
import { ParamRefusals } from "../context.ts";
import type { Line, Word } from "../words.ts";
import { expandAddressVars } from "../words.ts";
import { BIND_PARAMS } from "./index.ts";
import type { BindSslRec } from "../context.ts";
import type { Family, ProxyLine } from "./types.ts";

/** The TLS words of a bind line, kept for the tree (build/ssl.ts checks and loads them). */
const TLS_PARAMS = new Set(["ssl", "crt", "alpn", "ssl-min-ver", "ssl-max-ver"]);

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
  const ssl: BindSslRec = { on: false, crt: [] };
  let i = 1;
  while (i < args.length) {
    const a = args[i];
    if (TLS_PARAMS.has(a.text)) {
      if (a.text === "ssl") {
        ssl.on = true;
        ssl.loc = c.at(l, a);
        i++;
        continue;
      }
      const v = args[i + 1];
      if (!v) {
        c.error(c.at(l, a), `'bind ${addrW.text}' : '${a.text}' expects an argument.`);
        return;
      }
      const item = { text: v.text, loc: c.at(l, v) };
      if (a.text === "crt") {
        // HAProxy: a relative crt path is taken under the global crt-base.
        if (c.crtBase !== undefined && !v.text.startsWith("/")) {
          item.text = `${c.crtBase.replace(/\/+$/, "")}/${v.text}`;
        }
        ssl.crt.push(item);
      } else if (a.text === "alpn") ssl.alpn = item;
      else if (a.text === "ssl-min-ver") ssl.minVer = item;
      else ssl.maxVer = item;
      i += 2;
      continue;
    }
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
  if (ssl.crt.length > 0 && !ssl.on) {
    c.error(ssl.crt[0].loc, `'bind ${addrW.text}' : 'crt' needs 'ssl' on the same line.`);
    return;
  }
  if (ssl.on && ssl.crt.length === 0) {
    c.error(
      ssl.loc!,
      `'bind ${addrW.text}' : 'ssl' needs a certificate: 'crt <file>' (certificate and key).`,
    );
    return;
  }
  p.bindKeyLoc ??= kwLoc;
  out.forEach((b, j) =>
    p.binds.push({
      ...b,
      comment: j === 0 ? comment : undefined,
      ...(ssl.on ? { ssl } : {}),
    })
  );
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
