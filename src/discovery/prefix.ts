// Wt session-id prefixes from DNS names (`prefix-from dns-label`): the first label of the
// name with every character that is not a letter or a digit removed, so the SRV target
// `wt-0.wt.default.svc.cluster.local` gives `wt0`, matching a Wt server started with
// `--session-id-prefix=$(hostname | tr -cd 'A-Za-z0-9')` in the pod `wt-0`.
//
// Two servers of one backend whose prefixes are equal, or where one starts with the other
// (`wt1` and `wt10`: a wt1 session id may well start with `wt10`), would misroute sessions: the
// server that got its name later gets no prefix and an error event says why.

/** `wt-0.wt.default.svc.cluster.local` -> `wt0`; "" when nothing is left. */
export function prefixFromName(name: string): string {
  const label = name.split(".")[0] ?? "";
  return label.replace(/[^A-Za-z0-9]/g, "");
}

/** Why `prefix` cannot be used next to `others` (server name -> prefix), or null. */
export function prefixConflict(
  prefix: string,
  others: Iterable<[string, string]>,
): { server: string; prefix: string; same: boolean } | null {
  if (prefix === "") return null;
  for (const [server, p] of others) {
    if (p === prefix) return { server, prefix: p, same: true };
    if (p.startsWith(prefix) || prefix.startsWith(p)) return { server, prefix: p, same: false };
  }
  return null;
}
