// HAProxy map files (`map(FILE[,DEFAULT])` and its match variants), read once at load.
// A line is `KEY VALUE`: the key is the first word, the value the rest of the line (trailing
// blanks cut); blank lines and lines starting with `#` are skipped. Lookups follow HAProxy:
// map/map_str exact (first line wins), map_ip the longest matching network, every other kind the
// first matching line in file order.
import { parseNetwork } from "../acl/ip.ts";

export type MapMatch = "str" | "beg" | "sub" | "end" | "dom" | "reg" | "int" | "ip";

export interface MapEntry {
  key: string;
  value: string;
  line: number;
}

/** A problem in a map file: `line` is the file's line (0 when the file cannot be read). */
export class MapFileError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
    this.name = "MapFileError";
  }
}

/** Reads a map file's entries (throws MapFileError). */
export function readMapFile(path: string): MapEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable
      ? "permission denied"
      : err instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new MapFileError(`cannot read map file '${path}': ${why}`, 0);
  }
  const out: MapEntry[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, "");
    const t = line.replace(/^[ \t]+/, "");
    if (t === "" || t.startsWith("#")) continue;
    const m = /^(\S+)(?:[ \t]+(.*?))?[ \t]*$/.exec(t)!;
    out.push({ key: m[1], value: m[2] ?? "", line: n + 1 });
  }
  return out;
}

/** Finds the value for a sample; null when no line matches. */
export type MapLookup = (sample: string) => string | null;

const DOM_DELIMS = new Set(["/", "?", ".", ":"]);

/** HAProxy's pat_match_dom: the key found in the sample between delimiters (or the ends). */
function domMatch(sample: string, key: string): boolean {
  for (let at = sample.indexOf(key); at >= 0; at = sample.indexOf(key, at + 1)) {
    const before = at === 0 || DOM_DELIMS.has(sample[at - 1]);
    const end = at + key.length;
    const after = end === sample.length || DOM_DELIMS.has(sample[end]);
    if (before && after) return true;
  }
  return false;
}

function intRange(key: string): [number, number] | null {
  const m = /^(-?\d+)?(?::(-?\d+)?)?$/.exec(key);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  const lo = m[1] === undefined ? -Infinity : Number(m[1]);
  if (!key.includes(":")) return [lo, lo];
  return [lo, m[2] === undefined ? Infinity : Number(m[2])];
}

/** Compiles the entries for one match kind (throws MapFileError for a bad key). */
export function compileMap(entries: readonly MapEntry[], match: MapMatch): MapLookup {
  switch (match) {
    case "str": {
      const m = new Map<string, string>();
      for (const e of entries) if (!m.has(e.key)) m.set(e.key, e.value);
      return (s) => m.get(s) ?? null;
    }
    case "beg":
      return (s) => entries.find((e) => s.startsWith(e.key))?.value ?? null;
    case "sub":
      return (s) => entries.find((e) => s.includes(e.key))?.value ?? null;
    case "end":
      return (s) => entries.find((e) => s.endsWith(e.key))?.value ?? null;
    case "dom":
      return (s) => entries.find((e) => domMatch(s, e.key))?.value ?? null;
    case "reg": {
      const res = entries.map((e) => {
        try {
          return { re: new RegExp(e.key), value: e.value };
        } catch (err) {
          throw new MapFileError(`invalid regex '${e.key}': ${(err as Error).message}`, e.line);
        }
      });
      return (s) => res.find((r) => r.re.test(s))?.value ?? null;
    }
    case "int": {
      const ranges = entries.map((e) => {
        const r = intRange(e.key);
        if (!r) throw new MapFileError(`invalid integer '${e.key}'`, e.line);
        return { r, value: e.value };
      });
      return (s) => {
        const m = /^\s*[+-]?\d+/.exec(s);
        if (!m) return null;
        const n = Number(m[0]);
        return ranges.find(({ r }) => n >= r[0] && n <= r[1])?.value ?? null;
      };
    }
    case "ip": {
      const nets = entries.map((e) => {
        const n = parseNetwork(e.key);
        if (!n) throw new MapFileError(`invalid IP address or network '${e.key}'`, e.line);
        const bits = n.mask.reduce((a, w) => a + popcount(w), 0);
        return { n, bits, value: e.value };
      }).sort((a, b) => b.bits - a.bits);
      return (s) => {
        const ip = parseNetwork(s);
        if (!ip) return null;
        for (const { n, value } of nets) {
          if (n.addr.length !== ip.addr.length) continue;
          if (ip.addr.every((w, i) => ((w & n.mask[i]) >>> 0) === n.addr[i])) return value;
        }
        return null;
      };
    }
  }
}

function popcount(w: number): number {
  let c = 0;
  for (let v = w >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}
