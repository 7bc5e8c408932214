// backends: balance, affinity, servers (servers.ts) and the shared settings.
import type { BackendConfig, GlobalSection, Loc, ServerConfig, SrcEntry } from "../model.ts";
import type { Reader } from "./reader.ts";
import { applyRules, BACKEND_RULES, withRules } from "./rules.ts";
import { BACKEND_KEYS } from "./schema.ts";
import type { ServerPatch } from "./servers.ts";
import { defaultServer, readServer } from "./servers.ts";
import { expandTemplate } from "./dns.ts";
import { readAcls } from "./frontends.ts";
import { readUseServer } from "./use_server.ts";
import type { SettingsPatch } from "./settings.ts";
import { resolveSettings, settingsPatch } from "./settings.ts";

export function readBackends(
  r: Reader,
  e: SrcEntry | undefined,
  global: GlobalSection,
  defaults: SettingsPatch,
  defaultsServer: ServerPatch,
): BackendConfig[] {
  if (!e) return [];
  const out: BackendConfig[] = [];
  for (const be of r.named(e.value, "backend", "backends")) {
    r.checkName(be, "backend");
    const path = `backends.${be.key}`;
    const m = r.map(be.value, path);
    if (!m) continue;
    const f = r.fields(
      m,
      withRules(BACKEND_KEYS, BACKEND_RULES),
      `backend '${be.key}'`,
      `${path}.`,
    );
    const own = settingsPatch(r, f, path, global);
    const settings = resolveSettings(defaults, own);
    const expect = own.expect ?? defaults.expect;
    const send = own.send ?? defaults.send;
    const d404 = own.disableOn404 ?? defaults.disableOn404;
    if (settings.options.httpchk) {
      settings.options.httpchk = {
        ...settings.options.httpchk,
        ...send?.value,
        expect: expect?.value ?? null,
        ...(d404?.value ? { disableOn404: true } : {}),
      };
    } else if (expect || send || d404?.value) {
      const what = expect ? "expect" : send ? "send" : "disable-on-404";
      r.warn(
        (expect ?? send ?? d404)!.loc,
        `${path}: http-check ${what} has no effect without options.httpchk`,
      );
    }
    const backendServer = defaultServer(r, f.get("default-server"), `${path}.default-server`);
    const servers: ServerConfig[] = [];
    const names = new Set<string>();
    const se = f.get("servers");
    if (se) {
      for (const s of r.named(se.value, "server", `${path}.servers`)) {
        const server = readServer(r, s, `${path}.servers.${s.key}`, backendServer, defaultsServer);
        if (!server) continue;
        const t = server.dns?.template;
        if (!t) servers.push(server);
        else {
          // `template: N`: the fixed slots NAME1..NAMEN (HAProxy's server-template).
          for (const slot of expandTemplate(server, { from: t.index, to: t.index + t.count - 1 })) {
            if (names.has(slot.name)) {
              r.error(
                s.keyLoc,
                `${path}.servers.${s.key}: template server '${slot.name}' has the same name as ` +
                  `another server of backend '${be.key}'`,
              );
              break;
            }
            names.add(slot.name);
            servers.push(slot);
          }
          continue;
        }
        names.add(server.name);
      }
    }
    // (A `listen stats` section has no server: its page is all it serves.)
    if (servers.length === 0 && (!se || se.value.kind === "map") && !f.has("stats")) {
      r.warn(be.keyLoc, `backend '${be.key}' has no server: requests routed to it get 503`);
    }
    const acls = readAcls(r, f.get("acls"), path);
    const useServer = readUseServer(r, f.get("use-server"), path, be.key, names);
    out.push(applyRules(r, BACKEND_RULES, f, path, {
      name: be.key,
      ...(acls.length > 0 ? { acls } : {}),
      ...(useServer.length > 0 ? { useServer } : {}),
      balance: balance(r, f.get("balance"), `${path}.balance`, be.keyLoc),
      servers,
      // Prefix checks (same or overlapping prefixes) are validateBalance's.
      affinity: affinity(r, f.get("affinity"), `${path}.affinity`),
      settings,
      loc: be.keyLoc,
    }));
  }
  return out;
}

export function balance(
  r: Reader,
  e: SrcEntry | undefined,
  path: string,
  backendLoc: Loc,
): BackendConfig["balance"] {
  const dflt = { algorithm: "roundrobin", param: null, loc: e?.value.loc ?? backendLoc };
  if (!e) return dflt;
  const v = e.value;
  if (v.kind === "scalar" && typeof v.value === "string") {
    const [algorithm, ...rest] = v.value.trim().split(/\s+/);
    if (algorithm === "") {
      r.error(v.loc, `${path}: must not be empty`);
      return dflt;
    }
    return { algorithm, param: rest.length ? rest.join(" ") : null, loc: v.loc };
  }
  const m = r.map(v, path);
  if (!m) return dflt;
  const f = r.fields(m, ["algorithm", "param"], path, `${path}.`);
  if (!f.has("algorithm")) r.error(m.loc, `${path}: missing "algorithm"`);
  return {
    algorithm: r.str(f.get("algorithm"), `${path}.algorithm`) ?? "roundrobin",
    param: r.str(f.get("param"), `${path}.param`) ?? null,
    loc: v.loc,
  };
}

export function affinity(
  r: Reader,
  e: SrcEntry | undefined,
  path: string,
): BackendConfig["affinity"] {
  if (!e) return null;
  const m = r.map(e.value, path);
  if (!m) return null;
  const f = r.fields(m, ["url_param"], path, `${path}.`);
  const urlParam = r.str(f.get("url_param"), `${path}.url_param`);
  if (!f.has("url_param")) r.error(m.loc, `${path}: missing "url_param" (Wt's is wtd)`);
  if (urlParam === undefined) return null;
  return { urlParam };
}
