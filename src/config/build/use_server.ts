// `use-server`: a backend's list of `{ server: NAME, if: COND }` (or `unless`) rules, HAProxy's
// `use-server NAME if|unless COND`. The server must be one of the backend's; a condition is
// required (HAProxy's words for both); dynamic names (`%[...]`) are refused.
import type { SrcEntry, UseServerRule } from "../model.ts";
import type { Reader } from "./reader.ts";
import { suggest } from "./reader.ts";
import { ruleCondition, ruleList } from "./condition.ts";

export function readUseServer(
  r: Reader,
  e: SrcEntry | undefined,
  path: string,
  backend: string,
  servers: ReadonlySet<string>,
): UseServerRule[] {
  if (!e) return [];
  const where = `${path}.use-server`;
  const out: UseServerRule[] = [];
  const items = ruleList(r, e, where, "{ server: srv1, if: is_srv1 }");
  for (const [i, item] of items.entries()) {
    const at = `${where}[${i}]`;
    const m = r.map(item, at);
    if (!m) continue;
    const f = r.fields(m, ["server", "if", "unless"], at, "");
    const se = f.get("server");
    const server = r.str(se, `${at}.server`);
    if (!se) r.error(m.loc, `${at}: missing "server"`);
    const cond = ruleCondition(r, f, at);
    if (cond === undefined) {
      r.error(
        m.loc,
        `${at}: 'use-server' requires either 'if' or 'unless' followed by a condition`,
      );
      continue;
    }
    if (server === undefined || cond === null) continue;
    if (server.includes("%[")) {
      r.error(se!.value.loc, `${at}: dynamic server names ('%[...]') are not supported by wtproxy`);
      continue;
    }
    if (!servers.has(server)) {
      const near = suggest(server, [...servers]);
      r.error(
        se!.value.loc,
        `backend '${backend}' : unable to find server '${server}' referenced in a 'use-server' ` +
          `rule${near ? ` (did you mean '${near}'?)` : ""}`,
      );
      continue;
    }
    out.push({ server, ...cond, serverLoc: se!.value.loc });
  }
  return out;
}
