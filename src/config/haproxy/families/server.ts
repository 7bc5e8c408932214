// `server` and `default-server` (the parameters: server_params.ts and the families).
import { server26 } from "./haproxy26.ts";
import type { Loc, SrcNode } from "../../model.ts";
import type { Cfg, ProxyRec, Settings } from "../context.ts";
import { ParamRefusals } from "../context.ts";
import type { Line, Word } from "../words.ts";
import { expandAddressVars } from "../words.ts";
import { SERVER_PARAMS } from "./index.ts";
import type { Family, ProxyLine } from "./types.ts";

export const SERVER: Family = {
  proxyDirectives: {
    server: (c, x) => {
      if (!x.capable("be", "server", true)) return;
      if (x.p === null) return;
      server(c, x.l, x.p, x.args);
    },
    "default-server": (c, x: ProxyLine) => {
      if (!x.capable("be", "default-server", true)) return;
      defaultServer(c, x.l, x.p, x.settings, x.args);
    },
  },
  proxyOnly: ["server"],
};

/** Server and default-server parameters into `fields`; false after an error. */
export function serverParams(
  c: Cfg,
  l: Line,
  args: Word[],
  what: string,
  fields: Map<string, { node: SrcNode; keyLoc: Loc }>,
  backend: string | null,
  isDefault: boolean,
): boolean {
  let i = 0;
  let ok = true;
  const refusals = new ParamRefusals();
  const tail = " Running without that would change what this configuration does, so the line " +
    "is refused.";
  const done = (result: boolean) => {
    refusals.report(c, what, tail);
    return result;
  };
  while (i < args.length) {
    const a = args[i];
    const aLoc = c.at(l, a);
    const spec = SERVER_PARAMS[a.text] ?? server26(a.text);
    if (!spec) {
      refusals.report(c, what, tail);
      c.error(aLoc, `${what} unknown keyword '${a.text}'.`);
      return done(false);
    }
    const v = spec.kind === "value" ? args[i + 1] : undefined;
    if (spec.kind === "value" && !v) {
      c.error(
        aLoc,
        `${what} : '${a.text}' expects ${
          spec.type === "duration"
            ? "a delay"
            : spec.type === "int"
            ? "an integer"
            : a.text === "track"
            ? "[<proxy>/]<server>"
            : "an argument"
        } as argument.`,
      );
      return done(false);
    }
    i += spec.kind === "value" ? 2 : 1;
    if (spec.unsupported) {
      refusals.add(a.text, aLoc, spec.unsupported);
      if (spec.unsupported.level === "error") ok = false;
      continue;
    }
    const key = spec.key!;
    let node: SrcNode;
    if (spec.kind === "flag") node = c.scalar(spec.flagValue!, aLoc);
    else if (spec.type === "int") node = c.intNode(l, v!);
    else if (spec.type === "duration") node = c.durationNode(l, v!);
    else {
      let t = v!.text;
      if (key === "track") {
        if (isDefault) {
          c.error(aLoc, `${what} : 'track' cannot be used in 'default-server'.`);
          ok = false;
          continue;
        }
        if (!t.includes("/") && backend !== null) t = `${backend}/${t}`;
      }
      node = c.scalar(t, c.at(l, v!));
    }
    fields.delete(key);
    fields.set(key, { node, keyLoc: aLoc });
  }
  return done(ok);
}

export function server(c: Cfg, l: Line, p: ProxyRec, args: Word[], kw = "server") {
  const kwLoc = c.at(l, l.words[0]);
  if (!args[0] || !args[1]) {
    c.error(kwLoc, `'server' expects <name> and <addr>[:<port>] as arguments.`);
    return;
  }
  const name = args[0].text;
  const nameLoc = c.at(l, args[0]);
  const what = `'${kw} ${p.name}/${name}'`;
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
    const bad = [...name].find((ch) => !/[A-Za-z0-9_.:-]/.test(ch));
    c.error(nameLoc, `character '${bad}' is not permitted in server name '${name}'.`);
    return;
  }
  const dup = p.servers.find((s) => s.name === name);
  if (dup) {
    c.error(
      nameLoc,
      `${what} : a server with the same name already exists in ${p.type} '${p.name}' ` +
        `(declared at ${dup.keyLoc.file}:${dup.keyLoc.line}).`,
    );
    return;
  }
  let address = expandAddressVars(c, l, args[1]).text;
  const addrLoc = c.at(l, args[1]);
  const pm = /^([a-z0-9]+)@(.*)$/.exec(address);
  if (pm) {
    if (["ipv4", "ipv6", "tcp", "tcp4", "tcp6"].includes(pm[1])) address = pm[2];
    else {
      c.error(addrLoc, `${what} : '${pm[1]}@' addresses are not supported: use host:port.`);
      return;
    }
  }
  if (/:[+-]\d*$/.test(address)) {
    c.error(
      addrLoc,
      `${what} : port offsets ('${address}') are not supported: write the server's port.`,
    );
    return;
  }
  const fields = new Map<string, { node: SrcNode; keyLoc: Loc }>();
  fields.set("address", { node: c.scalar(address, addrLoc), keyLoc: addrLoc });
  const comment = c.takeComment(l);
  if (!serverParams(c, l, args.slice(2), what, fields, p.name, false)) return;
  const snap = new Map<string, SrcNode>();
  for (const [k, s] of dsOf(p)) snap.set(k, s);
  p.servers.push({ name, keyLoc: kwLoc, nameLoc, comment, fields, dsSnapshot: snap });
}

/** Effective default-server of a proxy now: its defaults', then its own lines. */
export function dsOf(p: ProxyRec): Map<string, SrcNode> {
  const m = new Map<string, SrcNode>();
  for (const src of [p.defaults?.settings, p.settings]) {
    if (!src) continue;
    for (const [k, s] of src) {
      if (k.startsWith("default-server.")) m.set(k.slice(15), s.node);
    }
  }
  return m;
}

export function defaultServer(
  c: Cfg,
  l: Line,
  p: ProxyRec | null,
  settings: Settings,
  args: Word[],
) {
  const fields = new Map<string, { node: SrcNode; keyLoc: Loc }>();
  const what = `'default-server'`;
  if (!serverParams(c, l, args, what, fields, p?.name ?? null, true)) return;
  const comment = c.takeComment(l);
  let first = true;
  for (const [k, f] of fields) {
    const key = `default-server.${k}`;
    settings.delete(key);
    settings.set(key, {
      node: f.node,
      keyLoc: f.keyLoc,
      cap: "be",
      comment: first ? comment : undefined,
    });
    first = false;
  }
  if (fields.size === 0 && comment) c.keep(comment);
}
