// Loading a configuration file: pick the front end (YAML or HAProxy .cfg), parse to a SrcNode
// tree, build the model. Every problem comes back at once in a ConfigError.
import { ConfigError } from "./model.ts";
import type { Config, Diagnostic } from "./model.ts";
import { parseYaml } from "./yaml.ts";
import { buildConfig } from "./build.ts";
import { looksLikeHaproxy, parseHaproxy } from "./haproxy.ts";

export type ConfigFormat = "yaml" | "cfg";

export interface Loaded {
  config: Config;
  warnings: Diagnostic[];
}

/** Reads and loads `path`. Throws ConfigError (with FILE:LINE:COL diagnostics) when invalid. */
export async function loadConfig(path: string): Promise<Loaded> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError([{
      file: path,
      line: 1,
      col: 1,
      severity: "error",
      message: `cannot read the configuration file: ${readErrorText(err)}`,
    }]);
  }
  return loadConfigText(text, path);
}

/** Loads configuration text; `file` is used in messages; `format` defaults to detectFormat(). */
export function loadConfigText(
  text: string,
  file: string,
  format?: ConfigFormat,
): Promise<Loaded> {
  try {
    return Promise.resolve(loadConfigTextSync(text, file, format));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** loadConfigText without the Promise: returns or throws ConfigError. */
export function loadConfigTextSync(
  text: string,
  file: string,
  format: ConfigFormat = detectFormat(text, file),
): Loaded {
  const cfg = format === "cfg" ? parseHaproxy(text, file) : null;
  const parsed = cfg ?? parseYaml(text, file);
  const diagnostics = [...parsed.diagnostics];
  // After a YAML syntax error the tree is partial: building it would add misleading errors.
  // A .cfg line that is refused is only left out of the tree: the rest is still checked, so
  // every problem comes at once (without the messages that merely follow from a refusal).
  const followOn = cfg?.followOn ?? null;
  if (followOn || !diagnostics.some((d) => d.severity === "error")) {
    const built = buildConfig(parsed.tree, file, format, text);
    diagnostics.push(...built.diagnostics.filter((d) => !followOn?.(d)));
    if (built.config && !diagnostics.some((d) => d.severity === "error")) {
      const warnings = diagnostics.filter((d) => d.severity === "warning");
      return { config: { ...built.config, warnings }, warnings };
    }
  }
  throw new ConfigError(
    diagnostics.filter((d) => d.severity === "error").concat(
      diagnostics.filter((d) => d.severity === "warning"),
    ),
  );
}

/** `.cfg` files, or text whose first directive is a HAProxy section keyword, are HAProxy. */
export function detectFormat(text: string, file: string): ConfigFormat {
  if (/\.cfg$/i.test(file)) return "cfg";
  if (/\.ya?ml$/i.test(file)) return "yaml";
  return looksLikeHaproxy(text) ? "cfg" : "yaml";
}

function readErrorText(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (err instanceof Deno.errors.NotCapable) return "not allowed (run with --allow-read)";
  if (err instanceof Deno.errors.InvalidData) return "it is not UTF-8 text";
  return err instanceof Error ? err.message : String(err);
}
