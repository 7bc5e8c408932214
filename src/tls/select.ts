// Which certificate answers a client's SNI: an exact name first, then a wildcard (`*.a.b`
// covers `x.a.b`, one label), else the first certificate of the bind (HAProxy's default).
import type { CertEntry } from "./certs.ts";

export type CertSelector = (serverName: string) => CertEntry;

/** Compiles the lookup once per load (two maps). */
export function certSelector(certs: readonly CertEntry[]): CertSelector {
  if (certs.length === 0) throw new Error("no certificate");
  const exact = new Map<string, CertEntry>();
  const wild = new Map<string, CertEntry>();
  for (const c of certs) {
    for (const n of c.names) {
      if (n.startsWith("*.")) {
        if (!wild.has(n.slice(2))) wild.set(n.slice(2), c);
      } else if (!exact.has(n)) exact.set(n, c);
    }
  }
  const dflt = certs[0];
  return (serverName) => {
    const name = serverName.toLowerCase().replace(/\.$/, "");
    const e = exact.get(name);
    if (e) return e;
    const dot = name.indexOf(".");
    if (dot > 0) {
      const w = wild.get(name.slice(dot + 1));
      if (w) return w;
    }
    return dflt;
  };
}
