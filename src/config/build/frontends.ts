// frontends: bind, acls, use_backend, default_backend and the shared settings.
import type {
  AclLine,
  Bind,
  FrontendConfig,
  GlobalSection,
  Loc,
  SrcEntry,
  UseBackendRule,
} from "../model.ts";
import type { Reader } from "./reader.ts";
import { readBindSsl } from "./ssl.ts";
import { describe } from "./reader.ts";
import { ruleCondition, ruleList } from "./condition.ts";
import { applyRules, FRONTEND_RULES, withRules } from "./rules.ts";
import { FRONTEND_KEYS } from "./schema.ts";
import type { SettingsPatch } from "./settings.ts";
import { resolveSettings, settingsPatch } from "./settings.ts";

export function readFrontends(
  r: Reader,
  e: SrcEntry | undefined,
  global: GlobalSection,
  defaults: SettingsPatch,
): FrontendConfig[] {
  if (!e) return [];
  const out: FrontendConfig[] = [];
  for (const fe of r.named(e.value, "frontend", "frontends")) {
    r.checkName(fe, "frontend");
    const path = `frontends.${fe.key}`;
    const m = r.map(fe.value, path);
    if (!m) continue;
    const f = r.fields(
      m,
      withRules(FRONTEND_KEYS, FRONTEND_RULES),
      `frontend '${fe.key}'`,
      `${path}.`,
    );
    const own = settingsPatch(r, f, path, global);
    const settings = resolveSettings(defaults, own);
    if (settings.maxconn > global.maxconn) {
      r.warn(
        (f.get("maxconn") ?? fe).keyLoc,
        `${path}: maxconn ${settings.maxconn} is above global.maxconn ${global.maxconn}, which caps it`,
      );
    }
    const binds = readBinds(r, f.get("bind"), fe, path);
    const acls = readAcls(r, f.get("acls"), path);
    const useBackend = readUseBackend(r, f.get("use_backend"), path);
    const defaultBackend = r.str(f.get("default_backend"), `${path}.default_backend`) ?? null;
    const fc = { name: fe.key, binds, acls, useBackend, defaultBackend, settings, loc: fe.keyLoc };
    out.push(applyRules(r, FRONTEND_RULES, f, path, fc));
  }
  return out;
}

export function readBinds(r: Reader, e: SrcEntry | undefined, fe: SrcEntry, path: string): Bind[] {
  const noBind =
    `frontend '${fe.key}' has no bind: add e.g. bind: "0.0.0.0:8080" (a section that should not listen belongs under backends)`;
  if (!e) {
    r.error(fe.keyLoc, noBind);
    return [];
  }
  const items = e.value.kind === "seq" ? e.value.items : [e.value];
  if (items.length === 0) r.error(e.value.loc, noBind);
  const out: Bind[] = [];
  for (const [i, item] of items.entries()) {
    const where = e.value.kind === "seq" ? `${path}.bind[${i}]` : `${path}.bind`;
    if (item.kind === "map") {
      // { address, ssl: { crt, ... } }
      const f = r.fields(item, ["address", "ssl"], where, `${where}.`);
      const ae = f.get("address");
      if (!ae) {
        r.error(item.loc, `${where}: missing "address"`);
        continue;
      }
      const a = r.address(ae.value, `${where}.address`, { allowPortZero: true });
      const se = f.get("ssl");
      const ssl = se ? readBindSsl(r, se.value, `${where}.ssl`) : undefined;
      if (a) out.push({ ...a.address, text: a.text, loc: ae.value.loc, ...(ssl ? { ssl } : {}) });
      continue;
    }
    const a = r.address(item, where, { allowPortZero: true });
    if (a) out.push({ ...a.address, text: a.text, loc: item.loc });
  }
  return out;
}

export function readAcls(r: Reader, e: SrcEntry | undefined, path: string): AclLine[] {
  if (!e) return [];
  const m = r.map(e.value, `${path}.acls`);
  if (!m) return [];
  const out: AclLine[] = [];
  const seen = new Map<string, Loc>();
  for (const a of m.entries) {
    const prev = seen.get(a.key);
    if (prev) {
      r.error(
        a.keyLoc,
        `ACL '${a.key}' is already defined at line ${prev.line}: give several texts as a list under one name (they are ORed)`,
      );
      continue;
    }
    seen.set(a.key, a.keyLoc);
    if (!/^[A-Za-z0-9_.:-]+$/.test(a.key)) {
      r.error(
        a.keyLoc,
        `invalid ACL name '${a.key}' (letters, digits, '-', '_', '.' and ':' only)`,
      );
      continue;
    }
    const texts = a.value.kind === "seq" ? a.value.items : [a.value];
    if (texts.length === 0) {
      r.error(a.value.loc, `${path}.acls.${a.key}: empty list of ACL texts`);
    }
    for (const t of texts) {
      if (t.kind !== "scalar" || typeof t.value !== "string" || t.value.trim() === "") {
        r.error(
          t.loc,
          `${path}.acls.${a.key}: expected ACL text such as "url_sub wtd=wt1", got ${describe(t)}`,
        );
        continue;
      }
      out.push({ name: a.key, text: t.value.trim(), loc: t.loc });
    }
  }
  return out;
}

export function readUseBackend(r: Reader, e: SrcEntry | undefined, path: string): UseBackendRule[] {
  if (!e) return [];
  const where = `${path}.use_backend`;
  const out: UseBackendRule[] = [];
  const items = ruleList(r, e, where, "{ backend: bck1, if: srv1 }");
  for (const [i, item] of items.entries()) {
    const m = r.map(item, `${where}[${i}]`);
    if (!m) continue;
    const f = r.fields(m, ["backend", "if", "unless"], `${where}[${i}]`, "");
    const backend = r.str(f.get("backend"), `${where}[${i}].backend`);
    if (!f.has("backend")) r.error(m.loc, `${where}[${i}]: missing "backend"`);
    const cond = ruleCondition(r, f, `${where}[${i}]`);
    if (cond === undefined) {
      r.error(
        m.loc,
        `${where}[${i}]: missing condition ("if: ACL..." or "unless: ACL..."); use default_backend for a backend without condition`,
      );
      continue;
    }
    if (backend === undefined || cond === null) continue;
    out.push({ backend, ...cond, backendLoc: f.get("backend")!.value.loc });
  }
  return out;
}
