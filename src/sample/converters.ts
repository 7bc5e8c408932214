// Sample converters (`,lower`, `,map(FILE,DEFAULT)`...): one registry, compiled once at load.
// wtproxy implements lower, upper, iif and the map family (map, map_str, map_beg, map_sub, map_end,
// map_dom, map_reg, map_int, map_ip, each with an _int/_str output suffix when wanted); any other
// HAProxy converter is refused by name with the list of supported ones.
import { AclError, type Sample, type SampleType } from "../acl/types.ts";
import { compileMap, MapFileError, type MapMatch, readMapFile } from "./maps.ts";

export type ConvFn = (s: Sample) => Sample;

export interface Converter {
  minArgs: number;
  maxArgs: number;
  /** Output type (decides an ACL's default match method). */
  output: SampleType;
  /** Compiles once; throws AclError (argIndex set) for a bad argument or map file. */
  compile(args: readonly string[], env: ConvEnv): ConvFn;
}

export interface ConvEnv {
  /** Reads a map file (default: from disk); tests and reloads may cache. */
  readMap?: typeof readMapFile;
}

export const converters = new Map<string, Converter>();

const str = (s: Sample): string | null =>
  s === null
    ? null
    : typeof s === "string"
    ? s
    : typeof s === "boolean"
    ? (s ? "1" : "0")
    : String(s);

converters.set("lower", {
  minArgs: 0,
  maxArgs: 0,
  output: "str",
  compile: () => (s) => str(s)?.toLowerCase() ?? null,
});
converters.set("upper", {
  minArgs: 0,
  maxArgs: 0,
  output: "str",
  compile: () => (s) => str(s)?.toUpperCase() ?? null,
});

// iif(TRUE,FALSE): the first argument when the boolean sample is true, else the second
// (`%[ssl_fc,iif(https,http)]`).
converters.set("iif", {
  minArgs: 2,
  maxArgs: 2,
  output: "str",
  compile: ([t, f]) => (s) => (s === true || (typeof s === "number" && s !== 0) ? t : f),
});

const MATCHES: MapMatch[] = ["str", "beg", "sub", "end", "dom", "reg", "int", "ip"];

function mapConverter(match: MapMatch, output: "str" | "int"): Converter {
  return {
    minArgs: 1,
    maxArgs: 2,
    output,
    compile(args, env) {
      const path = args[0];
      if (path === "") throw new AclError("missing map file name", { argIndex: 0 });
      let lookup;
      try {
        const entries = (env.readMap ?? readMapFile)(path);
        if (output === "int") {
          for (const e of entries) {
            if (!/^[+-]?\d+$/.test(e.value)) {
              throw new MapFileError(`value '${e.value}' is not an integer`, e.line);
            }
          }
        }
        lookup = compileMap(entries, match);
      } catch (err) {
        if (!(err instanceof MapFileError)) throw err;
        const where = err.line > 0 ? `map file ${path}:${err.line}: ` : "";
        throw new AclError(`${where}${err.message}`, { argIndex: 0 });
      }
      const def = args.length > 1 ? args[1] : null;
      if (def !== null && output === "int" && !/^[+-]?\d+$/.test(def)) {
        throw new AclError(`default value '${def}' is not an integer`, { argIndex: 1 });
      }
      const conv = (v: string | null): Sample =>
        v === null ? null : output === "int" ? Number(v) : v;
      const fallback = conv(def);
      // No input sample: no output (HAProxy runs no converter then); no line: the default.
      return (s) => {
        const k = str(s);
        if (k === null) return null;
        const v = lookup(k);
        return v === null ? fallback : conv(v);
      };
    },
  };
}

for (const m of MATCHES) {
  converters.set(`map_${m}`, mapConverter(m, "str"));
  converters.set(`map_${m}_str`, mapConverter(m, "str"));
  converters.set(`map_${m}_int`, mapConverter(m, "int"));
}
converters.set("map", mapConverter("str", "str"));

/** The names a message lists as supported. */
export function supportedConverters(): string {
  return ["lower", "upper", "iif", "map", ...MATCHES.map((m) => `map_${m}`)].join(", ");
}
