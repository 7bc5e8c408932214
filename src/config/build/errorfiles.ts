// `errorfiles: { 503: /etc/haproxy/errors/503.http }` in a frontend or backend (HAProxy's
// `errorfile CODE FILE` lines, `errorfiles NAME` imports and `defaults` lines end up here): each
// file is read and checked once at load with HAProxy 2.6's rules (the codes it accepts, a
// parsable HTTP response, the Content-Length matching the body, at most 16384 bytes), and kept
// as the bytes HAProxy sends: the file's status line, header names in lower case, the
// Connection header left to the proxy.
import type { BackendConfig, ErrorPage, FrontendConfig, Loc, SrcEntry, SrcMap } from "../model.ts";
import type { Reader } from "./reader.ts";
import type { SectionRule } from "./rules.ts";

/** The codes HAProxy 2.6 accepts in `errorfile` (http_err_codes). */
export const ERRORFILE_CODES = [
  200,
  400,
  401,
  403,
  404,
  405,
  407,
  408,
  410,
  413,
  425,
  429,
  500,
  501,
  502,
  503,
  504,
];

/** HAProxy's buffer size (tune.bufsize): a larger file cannot be sent. */
export const ERRORFILE_MAX = 16384;

const HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade"]);

/** Parses an error file's bytes (latin1); throws Error with HAProxy's wording. */
export function parseErrorFile(file: string, bytes: Uint8Array): ErrorPage {
  if (bytes.length > ERRORFILE_MAX) {
    throw new Error(
      `custom error message file '${file}' larger than ${ERRORFILE_MAX} bytes (HAProxy ` +
        `truncates it and refuses it)`,
    );
  }
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  // An empty file: the connection is closed without an answer.
  if (text === "") return { file, status: 0, open: "", closing: "", closes: true };
  const end = /\r?\n\r?\n/.exec(text);
  const headEnd = end ? end.index : -1;
  const bad = (offset: number) =>
    new Error(`'${file}': unable to parse headers (error offset: ${offset})`);
  if (headEnd < 0) throw bad(text.length);
  const lines = text.slice(0, headEnd).split(/\r?\n/);
  const sl = /^(HTTP\/1\.[01]) ([1-5]\d\d)(?: (.*))?$/.exec(lines[0]);
  if (!sl) throw bad(0);
  const body = text.slice(headEnd + end![0].length);
  let out = `${sl[1]} ${sl[2]} ${sl[3] ?? ""}`.trimEnd() + "\r\n";
  let length: number | null = null;
  let offset = lines[0].length + 1;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(line.slice(0, colon))) {
      throw bad(offset);
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    offset += line.length + 1;
    if (HOP.has(name)) continue;
    if (name === "content-length") {
      if (!/^\d+$/.test(value)) throw bad(offset - line.length - 1);
      length = Number(value);
    }
    out += `${name}: ${value}\r\n`;
  }
  if (length !== null && length !== body.length) {
    throw new Error(
      `'${file}': payload size does not match the announced content-length ` +
        `(${body.length} != ${length})`,
    );
  }
  const closes = length === null;
  return {
    file,
    status: Number(sl[2]),
    open: `${out}\r\n${body}`,
    closing: closes ? `${out}\r\n${body}` : `${out}connection: close\r\n\r\n${body}`,
    closes,
  };
}

/** Reads one error file (throws Error with HAProxy's wording). */
export function readErrorFile(file: string): ErrorPage {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(file);
  } catch {
    throw new Error(`error opening file '${file}'.`);
  }
  return parseErrorFile(file, bytes);
}

/** Problems already reported (a `defaults` line reaches every proxy: one message). */
const reported = new WeakMap<Reader, Set<string>>();

function readPages(
  r: Reader,
  f: Map<string, SrcEntry>,
  path: string,
): Record<number, ErrorPage> | undefined {
  const e = f.get("errorfiles");
  if (!e) return undefined;
  const m: SrcMap | null = r.map(e.value, `${path}.errorfiles`);
  if (!m) return undefined;
  const pages: Record<number, ErrorPage> = {};
  for (const entry of m.entries) {
    const code = Number(entry.key);
    const where = `${path}.errorfiles.${entry.key}`;
    if (!ERRORFILE_CODES.includes(code)) {
      r.error(entry.keyLoc, `errorfile : status code '${entry.key}' not handled.`);
      continue;
    }
    const file = r.str(entry, where);
    if (file === undefined) continue;
    try {
      pages[code] = readErrorFile(file);
    } catch (err) {
      const loc = entry.value.loc as Loc;
      const msg = `errorfile : ${(err as Error).message}`;
      const seen = reported.get(r) ?? new Set<string>();
      reported.set(r, seen);
      const key = `${loc.file}:${loc.line}:${loc.col}:${msg}`;
      if (!seen.has(key)) r.error(loc, msg);
      seen.add(key);
    }
  }
  return pages;
}

export const FRONTEND_ERRORFILES: SectionRule<FrontendConfig> = {
  keys: ["errorfiles"],
  read(r, f, path, out) {
    const pages = readPages(r, f, path);
    if (pages) out.errorPages = pages;
  },
};

export const BACKEND_ERRORFILES: SectionRule<BackendConfig> = {
  keys: ["errorfiles"],
  read(r, f, path, out) {
    const pages = readPages(r, f, path);
    if (pages) out.errorPages = pages;
  },
};
