// admin: the admin listener (stats, runtime commands) and its token.
import type { AdminConfig, SrcEntry } from "../model.ts";
import { isLoopback } from "../address.ts";
import type { Reader } from "./reader.ts";
import { ADMIN_KEYS } from "./schema.ts";

export function readAdmin(r: Reader, e: SrcEntry | undefined): AdminConfig | null {
  if (!e) return null;
  const m = r.map(e.value, "admin");
  if (!m) return null;
  const f = r.fields(m, ADMIN_KEYS, "admin", "admin.");
  const token = r.str(f.get("token"), "admin.token") ?? null;
  const be = f.get("bind");
  if (!be) {
    r.error(e.keyLoc, `admin: missing "bind" (e.g. bind: 127.0.0.1:9100)`);
    return null;
  }
  const a = r.address(be.value, "admin.bind", { allowPortZero: true });
  if (!a) return null;
  if (!isLoopback(a.address) && token === null) {
    r.error(
      be.value.loc,
      `admin.bind: ${a.text} is reachable from other machines: set admin.token, or bind 127.0.0.1`,
    );
  }
  return { bind: { ...a.address, text: a.text, loc: be.value.loc }, token, loc: e.keyLoc };
}
