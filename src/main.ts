// wtproxy command line, with HAProxy's habits: `-f FILE` to run, `-c -f FILE` to check.
// Messages go to stderr (stdout carries the access log when no syslog target is set);
// every configuration message is `FILE:LINE:COL: error|warning: text`.
import { parseArgs } from "node:util";
import { ConfigError, formatDiagnostic } from "./config/model.ts";
import type { Config, Diagnostic } from "./config/model.ts";
import { loadConfig } from "./config/load.ts";
import { MAX_NBTHREAD } from "./config/build/nbthread.ts";
import { applyAdminFlag } from "./admin/cli.ts";
import { logReloadFailed } from "./log/events.ts";
import denoJson from "../deno.json" with { type: "json" };

export const VERSION: string = denoJson.version;

type Values = Record<string, string | boolean | undefined>;

/** One command-line option. Add a flag by adding one entry to OPTIONS. */
export interface CliOption {
  name: string;
  short?: string;
  type: "string" | "boolean";
  /** Name of the value in --help (string options). */
  arg?: string;
  help: string;
  /** Runs instead of the proxy when the flag is given (e.g. a converter); returns the exit code. */
  command?: (value: string | boolean, values: Values) => Promise<number>;
  /** Adjusts the loaded configuration (check, start and every reload), e.g. `--admin ADDR:PORT`. */
  apply?: (value: string | boolean, config: Config) => Config;
}

export const OPTIONS: CliOption[] = [
  {
    name: "config",
    short: "f",
    type: "string",
    arg: "FILE",
    help: "configuration file: YAML, or a HAProxy .cfg file",
  },
  {
    name: "check",
    short: "c",
    type: "boolean",
    help: "check the configuration and exit: 0 when valid (warnings are printed), 1 when not",
  },
  {
    name: "admin",
    type: "string",
    arg: "ADDR:PORT",
    help: "serve /stats, /metrics, /healthz and the runtime API /api there (see README)",
    apply: applyAdminFlag,
  },
  {
    name: "to-yaml",
    type: "boolean",
    help: "with -f FILE: print FILE (e.g. a HAProxy .cfg) as wtproxy YAML on stdout and exit",
    command: async (_v, values) =>
      (await import("./config/to_yaml.ts")).convertCommand(values.config as string | undefined),
  },
  {
    name: "healthz",
    type: "string",
    arg: "ADDR:PORT",
    help: "ask a running wtproxy's admin listener for /healthz: exit 0 when ready (containers)",
    command: async (v) => (await import("./admin/probe.ts")).probeHealthz(String(v)),
  },
  { name: "version", short: "v", type: "boolean", help: "print the version and exit" },
  { name: "help", short: "h", type: "boolean", help: "print this help and exit" },
];

const EXAMPLE = "config.example.yaml";

/** Thrown for a bad command line: one line on stderr, exit 2. */
class UsageError extends Error {}

function usage(): string {
  const lines = OPTIONS.map((o) => {
    const flags = `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.arg ? ` ${o.arg}` : ""}`;
    return `  ${flags.padEnd(24)} ${o.help}`;
  });
  return [
    `wtproxy ${VERSION}: reverse proxy and load balancer for Wt applications (HTTP, WebSocket)`,
    "",
    "Usage:",
    "  wtproxy -f FILE          run the proxy",
    "  wtproxy -c -f FILE       check the configuration only",
    "",
    "Options:",
    ...lines,
    "",
    "Signals: SIGHUP reloads the configuration (the old one stays on error);",
    "SIGTERM and SIGINT stop accepting, let requests finish, and exit.",
    `Example: deno task start -f ${EXAMPLE}`,
  ].join("\n");
}

function parse(args: string[]): Values {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of OPTIONS) {
    options[o.name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]} (see wtproxy --help)`);
    const missing = /Option '(.+?) <value>' argument missing/.exec(msg);
    if (missing) throw new UsageError(`option ${missing[1]} needs a value`);
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional) {
      throw new UsageError(
        `unexpected argument '${positional[1]}' (give the configuration file with -f FILE)`,
      );
    }
    const ambiguous = /Option '(.+?)' argument is ambiguous/.exec(msg);
    if (ambiguous) throw new UsageError(`option ${ambiguous[1]} needs a value, not another option`);
    throw new UsageError(msg.split("\n")[0]);
  }
}

function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    // Line 0: a command-line option, not a place in the file.
    console.error(d.line === 0 ? `wtproxy: ${d.severity}: ${d.message}` : formatDiagnostic(d));
  }
}

/** Loads the file and applies option hooks; prints the diagnostics. Null when invalid. */
async function load(file: string, values: Values): Promise<Config | null> {
  try {
    const { config, warnings } = await loadConfig(file);
    printDiagnostics(warnings);
    let out = config;
    for (const o of OPTIONS) {
      const v = values[o.name];
      if (o.apply && v !== undefined) out = o.apply(v, out);
    }
    return out;
  } catch (err) {
    if (err instanceof ConfigError) {
      printDiagnostics(err.diagnostics);
      return null;
    }
    if (err instanceof Deno.errors.NotCapable) {
      console.error(`wtproxy: ${err.message} (run it with deno task start, or deno run -A)`);
      return null;
    }
    throw err;
  }
}

/** Data-plane threads: `global.nbthread`, else every CPU available (as HAProxy), at most 64. */
function threadsFor(config: Config): number {
  return config.global.nbthread ??
    Math.max(1, Math.min(MAX_NBTHREAD, navigator.hardwareConcurrency));
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function run(file: string, values: Values): Promise<number> {
  const config = await load(file, values);
  if (!config) return 1;
  const { startRuntime } = await import("./runtime.ts");
  let runtime;
  try {
    runtime = await startRuntime(config, { nbthread: threadsFor(config) });
  } catch (err) {
    console.error(`wtproxy: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  // Reloads run one at a time; a bad file keeps the running configuration.
  let reloading = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      console.error(`wtproxy: reloading ${file}`);
      const next = await load(file, values);
      if (!next) {
        console.error("wtproxy: reload failed, still running the previous configuration");
        if (runtime.logging) logReloadFailed(runtime.logging, file, "invalid configuration");
        return;
      }
      try {
        if (threadsFor(next) !== runtime.nbthread) {
          console.error(
            `wtproxy: nbthread changes to ${threadsFor(next)} at the next restart ` +
              `(a reload keeps the ${runtime.nbthread} running)`,
          );
        }
        await runtime.reload(next);
        console.error(`wtproxy: reloaded ${file}`);
      } catch (err) {
        if (runtime.logging) logReloadFailed(runtime.logging, file, err);
        console.error(
          `wtproxy: reload failed (${err instanceof Error ? err.message : String(err)}), ` +
            "still running the previous configuration",
        );
      }
    });
  };

  const { promise: stopped, resolve } = Promise.withResolvers<number>();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`wtproxy: ${signal} again, exiting now`);
      Deno.exit(1);
    }
    stopping = true;
    console.error(`wtproxy: ${signal}: stopping`);
    runtime.stop().then(() => resolve(0), (err: unknown) => {
      console.error(`wtproxy: stop failed: ${err instanceof Error ? err.message : String(err)}`);
      resolve(1);
    });
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  try {
    Deno.addSignalListener("SIGHUP", reload);
  } catch {
    // No SIGHUP on this platform (Windows): reload by restarting.
  }
  // Announced only now that the signals are handled: a SIGHUP sent on seeing these lines must
  // reload, not kill the process.
  const why = config.global.nbthread === undefined
    ? "every CPU available; set global.nbthread to choose"
    : "global.nbthread";
  console.error(
    `wtproxy: ${runtime.nbthread} data-plane thread${runtime.nbthread === 1 ? "" : "s"} (${why})`,
  );
  for (const l of runtime.listeners) {
    console.error(`wtproxy: frontend ${l.frontend} listening on ${hostPort(l.hostname, l.port)}`);
  }
  if (config.admin) {
    console.error(`wtproxy: admin (stats, metrics, API) on http://${config.admin.bind.text}/stats`);
  }
  return await stopped;
}

export async function main(args: string[]): Promise<number> {
  let values: Values;
  try {
    values = parse(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`wtproxy: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (values.help) {
    console.log(usage());
    return 0;
  }
  if (values.version) {
    console.log(`wtproxy ${VERSION} (deno ${Deno.version.deno})`);
    return 0;
  }
  for (const o of OPTIONS) {
    const v = values[o.name];
    if (o.command && v !== undefined) return await o.command(v, values);
  }
  const file = values.config;
  if (typeof file !== "string" || file === "") {
    console.error(
      `wtproxy: no configuration file: give one with -f FILE (e.g. -f ${EXAMPLE}; see --help)`,
    );
    return 2;
  }
  if (values.check) {
    const config = await load(file, values);
    if (!config) return 1;
    console.log(`Configuration file is valid: ${file}`);
    return 0;
  }
  return await run(file, values);
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    // Not a user error: a bug. Say so in one line, with the details after it.
    console.error(`wtproxy: internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof Error && err.stack) console.error(err.stack);
    Deno.exit(70);
  }
}
