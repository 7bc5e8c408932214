// mode http / mode tcp across sections: an HTTP frontend cannot use a TCP backend (HAProxy's
// own error), and a TCP frontend cannot use an HTTP backend here (HAProxy upgrades such a
// connection to HTTP; wtproxy does not). Options that need HTTP warn on a TCP frontend, in
// HAProxy's words.
import type { BackendConfig, Loc } from "../model.ts";
import type { CrossRule } from "./rules.ts";

function at(loc: Loc): string {
  return `${loc.file}:${loc.line}`;
}

export const MODES: CrossRule = (r, frontends, backends) => {
  const byName = new Map(backends.map((b) => [b.name, b]));
  for (const f of frontends) {
    const fm = f.settings.mode;
    const uses: [BackendConfig | undefined, Loc, string][] = f.useBackend.map((u) => [
      byName.get(u.backend),
      u.backendLoc ?? u.loc,
      "in a 'use_backend' rule",
    ]);
    if (f.defaultBackend !== null) {
      uses.push([byName.get(f.defaultBackend), f.loc, "as its default backend"]);
    }
    for (const [b, loc, how] of uses) {
      if (!b || b.settings.mode === fm) continue;
      if (fm === "http") {
        r.error(
          loc,
          `http frontend '${f.name}' (${at(f.loc)}) tries to use incompatible tcp backend ` +
            `'${b.name}' (${at(b.loc)}) ${how} (see 'mode').`,
        );
      } else {
        r.error(
          loc,
          `tcp frontend '${f.name}' (${at(f.loc)}) uses http backend '${b.name}' (${at(b.loc)}) ` +
            `${how}: HAProxy would upgrade these connections to HTTP, wtproxy does not; write ` +
            `'mode http' in both (or 'mode tcp' in both).`,
        );
      }
    }
    if (fm === "tcp") {
      const o = f.settings.options;
      if (o.httplog) {
        r.warn(
          f.loc,
          `'option httplog' not usable with frontend '${f.name}' (needs 'mode http'). ` +
            `Falling back to 'option tcplog'.`,
        );
      }
      if (o.forwardfor) {
        r.warn(
          f.loc,
          `'option forwardfor' ignored for frontend '${f.name}' as it requires HTTP mode.`,
        );
      }
      if (o.originalto) {
        r.warn(
          f.loc,
          `'option originalto' ignored for frontend '${f.name}' as it requires HTTP mode.`,
        );
      }
    }
  }
  for (const b of backends) {
    if (b.settings.mode !== "tcp") continue;
    if (b.affinity) {
      r.error(b.loc, `backend '${b.name}': affinity reads the URL: it needs mode http`);
    }
    // HAProxy (cfgparse.c): a layer-7 hash in a TCP backend falls back to round robin.
    const algo = b.balance.algorithm;
    if (algo === "uri" || algo === "url_param") {
      r.warn(
        b.balance.loc ?? b.loc,
        `Layer 7 hash not possible for backend '${b.name}' (needs 'mode http'). Falling back ` +
          `to round robin.`,
      );
      b.balance = { algorithm: "roundrobin", param: null, loc: b.balance.loc };
    }
  }
};
