// SrcNode tree (from YAML or a .cfg file) -> Config. Every problem is collected with its
// FILE:LINE:COL so one run reports them all; the Config is returned only when there is no error.
// Key names and messages use HAProxy's words (frontend, backend, bind, track, use_backend...).
// One file per section under build/: global, settings (shared by defaults, frontends and
// backends), frontends, backends, servers, admin, cross (checks across sections).
import type { Config, Diagnostic, Loc, SrcEntry, SrcNode } from "./model.ts";
import { readAdmin } from "./build/admin.ts";
import { checkResolversNames, readResolvers } from "./build/dns.ts";
import { readBackends } from "./build/backends.ts";
import { cfgWords } from "./build/cfg_words.ts";
import { crossChecks } from "./build/cross.ts";
import { readFrontends } from "./build/frontends.ts";
import { readGlobal } from "./build/global.ts";
import { Reader } from "./build/reader.ts";
import { DEFAULTS_KEYS, TOP_KEYS } from "./build/schema.ts";
import { defaultServer } from "./build/servers.ts";
import { settingsPatch } from "./build/settings.ts";

export { suggest } from "./build/reader.ts";

export interface BuildResult {
  /** null when at least one diagnostic is an error. */
  config: Config | null;
  /** Errors and warnings, sorted by position. */
  diagnostics: Diagnostic[];
}

/** Builds the model from a parsed tree. `file` is used for messages with no better place. */
export function buildConfig(
  tree: SrcNode,
  file: string,
  format: "yaml" | "cfg" = "yaml",
  /** The .cfg text: messages then quote its directives instead of YAML paths. */
  cfgText?: string,
): BuildResult {
  return build(new Reader(file), tree, format, cfgText);
}

function build(
  r: Reader,
  tree: SrcNode,
  format: "yaml" | "cfg",
  cfgText: string | undefined,
): BuildResult {
  const fileLoc: Loc = { file: r.file, line: 1, col: 1 };
  const top = r.map(tree, "the configuration");
  const f = top ? r.fields(top, TOP_KEYS, "the configuration", "") : new Map<string, SrcEntry>();

  const global = readGlobal(r, f.get("global"));
  const defaultsEntry = f.get("defaults");
  const defaults = defaultsEntry ? r.map(defaultsEntry.value, "defaults") : null;
  const df = defaults
    ? r.fields(defaults, DEFAULTS_KEYS, "defaults", "defaults.")
    : new Map<string, SrcEntry>();
  const defaultsPatch = settingsPatch(r, df, "defaults", global);
  const defaultsServer = defaultServer(r, df.get("default-server"), "defaults.default-server");

  const backends = readBackends(r, f.get("backends"), global, defaultsPatch, defaultsServer);
  const frontends = readFrontends(r, f.get("frontends"), global, defaultsPatch);
  const admin = readAdmin(r, f.get("admin"));
  const resolvers = readResolvers(r, f.get("resolvers"));
  checkResolversNames(r, resolvers, backends);

  if (!f.has("frontends") || frontends.length === 0) {
    r.error(
      f.get("frontends")?.keyLoc ?? top?.loc ?? fileLoc,
      "no frontend: nothing would listen (add a `frontends:` section with a `bind` address)",
    );
  }
  crossChecks(r, frontends, backends, admin, global);
  if (format === "cfg" && cfgText !== undefined) cfgWords(r.diagnostics, r.file, cfgText);

  r.diagnostics.sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1
  );
  if (r.diagnostics.some((d) => d.severity === "error")) {
    return { config: null, diagnostics: r.diagnostics };
  }
  const warnings = r.diagnostics.filter((d) => d.severity === "warning");
  return {
    config: { file: r.file, format, global, frontends, backends, admin, resolvers, warnings },
    diagnostics: r.diagnostics,
  };
}
