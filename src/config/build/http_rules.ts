// `http-request` / `http-response`: a list of rules in HAProxy's syntax, on frontends and
// backends ("redirect scheme https unless { ssl_fc }"). Checked here (FILE:LINE:COL on the
// word at fault) by compiling them as the runtime will.
import type { BackendConfig, FrontendConfig, RuleLine, SrcEntry } from "../model.ts";
import { compileProxyRules } from "../../rules/proxy.ts";
import { compileNamedAcls } from "../../acl/compile.ts";
import { compileUseServerTests } from "../../balance/use_server.ts";
import type { Reader } from "./reader.ts";
import { describe } from "./reader.ts";
import type { CrossRule, SectionRule } from "./rules.ts";

const KEYS = ["http-request", "http-response"] as const;

function readLines(r: Reader, e: SrcEntry | undefined, where: string): RuleLine[] | undefined {
  if (!e) return undefined;
  const items = e.value.kind === "seq" ? e.value.items : [e.value];
  const out: RuleLine[] = [];
  for (const [i, item] of items.entries()) {
    if (item.kind !== "scalar" || typeof item.value !== "string" || item.value.trim() === "") {
      r.error(
        item.loc,
        `${where}[${i}]: expected a rule such as "set-header X-Forwarded-Proto https if { ssl_fc }", got ${
          describe(item)
        }`,
      );
      continue;
    }
    out.push({ text: item.value, loc: item.loc });
  }
  return out;
}

function rule<T extends FrontendConfig | BackendConfig>(): SectionRule<T> {
  return {
    keys: KEYS,
    read(r, f, path, out) {
      const req = readLines(r, f.get("http-request"), `${path}.http-request`);
      const res = readLines(r, f.get("http-response"), `${path}.http-response`);
      if (req?.length) out.httpRequest = req;
      if (res?.length) out.httpResponse = res;
    },
  };
}

export const FRONTEND_HTTP_RULES: SectionRule<FrontendConfig> = rule<FrontendConfig>();
export const BACKEND_HTTP_RULES: SectionRule<BackendConfig> = rule<BackendConfig>();

/** Every rule compiled once, so `-c` reports what the runtime would refuse; a backend's own
 * ACLs and use-server rules too (a frontend's ACLs are checked with its routing). */
export const CHECK_HTTP_RULES: CrossRule = (r, frontends, backends) => {
  const env = { backendNames: new Set(backends.map((b) => b.name)) };
  for (const b of backends) {
    compileNamedAcls(b.acls ?? [], env, r.diagnostics);
    compileUseServerTests(b, env, r.diagnostics);
  }
  for (const p of [...frontends, ...backends]) compileProxyRules(p, env, r.diagnostics);
};
