// After a refused line the rest of the file is still checked (every problem at once), but a
// message that only follows from the refusal would mislead: "backend 'db' has no server"
// after its `server ... ssl` line was refused, "unable to find required use_backend" for a
// refused section. This decides, for a message of the model checks (build.ts), whether it is
// such a follow-on.
import type { Diagnostic } from "../model.ts";
import type { Cfg } from "./context.ts";

export type FollowOn = (d: Diagnostic) => boolean;

export function followOnFilter(c: Cfg): FollowOn {
  const anyError = c.diags.some((d) => d.severity === "error");
  /** Keywords refused per proxy name, with those of its `defaults`. */
  const refused = new Map<string, Set<string>>();
  for (const p of c.proxies) {
    refused.set(p.name, new Set([...p.refused, ...(p.defaults?.refused ?? [])]));
  }
  const has = (proxy: string, ...kws: string[]) =>
    kws.some((k) => refused.get(proxy)?.has(k) ?? false);
  const gone = (name: string) => c.refusedProxies.has(name) || has(name, "server");
  return (d) => {
    if (!anyError) return false;
    if (d.file === c.file && c.refusedLines.has(d.line)) return true;
    const m = d.message;
    let x: RegExpExecArray | null;
    if (m.startsWith("no frontend: nothing would listen")) return true;
    if ((x = /^backend '([^']+)' has no server/.exec(m))) return has(x[1], "server");
    if ((x = /^unable to find required (?:use_backend|default_backend): '([^']+)'/.exec(m))) {
      return c.refusedProxies.has(x[1]);
    }
    if ((x = /: unable to find required backend '([^']+)' for tracking/.exec(m))) {
      return c.refusedProxies.has(x[1]);
    }
    if ((x = /: unable to find required server '[^']+' in backend '([^']+)'/.exec(m))) {
      return gone(x[1]);
    }
    if ((x = /^frontend '([^']+)' has no default_backend and no use_backend/.exec(m))) {
      return has(x[1], "use_backend", "default_backend");
    }
    if ((x = /^missing timeouts for (?:frontend|backend) '([^']+)'/.exec(m))) {
      return has(x[1], "timeout");
    }
    if (/^unknown ACL '/.test(m)) return [...refused.values()].some((s) => s.has("acl"));
    return false;
  };
}
