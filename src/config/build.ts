// SrcNode tree (from YAML or a .cfg file) -> Config. Every problem is collected with its
// FILE:LINE:COL so one run reports them all; the Config is returned only when there is no error.
// Key names and messages use HAProxy's words (frontend, backend, bind, track, use_backend...).
import { FACILITIES, LEVELS } from "./model.ts";
import type {
  AclLine,
  AdminConfig,
  BackendConfig,
  Bind,
  Config,
  Diagnostic,
  ForwardForOption,
  FrontendConfig,
  GlobalSection,
  HttpCheck,
  Loc,
  LogTarget,
  Millis,
  OriginalToOption,
  ProxyOptions,
  ProxySettings,
  ServerConfig,
  SrcEntry,
  SrcMap,
  SrcNode,
  Timeouts,
  UseBackendRule,
} from "./model.ts";
import { AddressError, checkCidr, isLoopback, parseAddress } from "./address.ts";
import type { AddressOptions } from "./address.ts";
import {
  BUILTIN_INTER,
  BUILTIN_MAXCONN,
  BUILTIN_OPTIONS,
  BUILTIN_RETRIES,
  BUILTIN_SERVER,
  builtinGlobal,
  NO_TIMEOUTS,
} from "./defaults.ts";
import { DurationError, parseDuration } from "./duration.ts";
import { validateFrontendAcls } from "../acl/validate.ts";
import { validateBalance } from "../balance/validate.ts";

export interface BuildResult {
  /** null when at least one diagnostic is an error. */
  config: Config | null;
  /** Errors and warnings, sorted by position. */
  diagnostics: Diagnostic[];
}

// ---- the schema: allowed keys per section (docs/yaml-schema.md) ----

const TOP_KEYS = ["global", "defaults", "frontends", "backends", "admin"];
const GLOBAL_KEYS = ["maxconn", "log-tag", "log"];
const LOG_TARGET_KEYS = ["address", "facility", "level", "min-level", "format"];
const SETTINGS_KEYS = ["mode", "log", "options", "retries", "maxconn", "timeouts"];
const DEFAULTS_KEYS = [...SETTINGS_KEYS, "http-check", "default-server"];
const FRONTEND_KEYS = ["bind", "acls", "use_backend", "default_backend", ...SETTINGS_KEYS];
const BACKEND_KEYS = [
  "balance",
  "affinity",
  "default-server",
  "servers",
  "mode",
  "log",
  "options",
  "retries",
  "timeouts",
  "http-check",
];
const OPTION_KEYS = [
  "httplog",
  "dontlognull",
  "http-server-close",
  "http-pretend-keepalive",
  "http-keep-alive",
  "httpclose",
  "forwardfor",
  "originalto",
  "redispatch",
  "httpchk",
];
const TIMEOUT_KEYS = [
  "connect",
  "client",
  "server",
  "tunnel",
  "http-request",
  "http-keep-alive",
  "check",
  "queue",
];
const DEFAULT_SERVER_KEYS = [
  "check",
  "weight",
  "backup",
  "inter",
  "fastinter",
  "downinter",
  "rise",
  "fall",
  "maxconn",
  "disabled",
];
const SERVER_KEYS = ["address", ...DEFAULT_SERVER_KEYS, "track", "prefix"];
const ADMIN_KEYS = ["bind", "token"];

/** HAProxy words that are spelled differently here: the hint replaces "did you mean". */
const HINTS: Record<string, string> = {
  contimeout: 'write it as timeouts: { connect: ... } ("contimeout" is HAProxy 1.x)',
  clitimeout: 'write it as timeouts: { client: ... } ("clitimeout" is HAProxy 1.x)',
  srvtimeout: 'write it as timeouts: { server: ... } ("srvtimeout" is HAProxy 1.x)',
  timeout: 'did you mean "timeouts"?',
  listen: "a HAProxy `listen` section is a frontend and a backend of the same name in YAML",
  server: 'did you mean "servers"?',
  acl: 'did you mean "acls"?',
  option: 'did you mean "options"?',
};

/** HAProxy accepts these characters in proxy and server names. */
const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

type Expect = HttpCheck["expect"];

/** What one section (defaults, a frontend or a backend) writes; unset keys stay undefined. */
interface SettingsPatch {
  mode?: "http";
  log?: LogTarget[];
  options: Partial<ProxyOptions>;
  retries?: number;
  maxconn?: number;
  timeouts: Partial<Timeouts>;
  expect?: { value: Expect; loc: Loc };
}

type ServerPatch = Partial<
  Pick<
    ServerConfig,
    | "check"
    | "weight"
    | "backup"
    | "inter"
    | "fastinter"
    | "downinter"
    | "rise"
    | "fall"
    | "maxconn"
    | "disabled"
  >
>;

/** Builds the model from a parsed tree. `file` is used for messages with no better place. */
export function buildConfig(
  tree: SrcNode,
  file: string,
  format: "yaml" | "cfg" = "yaml",
): BuildResult {
  return new Builder(file).build(tree, format);
}

class Builder {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly file: string) {}

  error(loc: Loc, message: string): void {
    this.diagnostics.push({
      file: loc.file,
      line: loc.line,
      col: loc.col,
      severity: "error",
      message,
    });
  }
  warn(loc: Loc, message: string): void {
    this.diagnostics.push({
      file: loc.file,
      line: loc.line,
      col: loc.col,
      severity: "warning",
      message,
    });
  }

  build(tree: SrcNode, format: "yaml" | "cfg"): BuildResult {
    const fileLoc: Loc = { file: this.file, line: 1, col: 1 };
    const top = this.map(tree, "the configuration");
    const f = top
      ? this.fields(top, TOP_KEYS, "the configuration", "")
      : new Map<string, SrcEntry>();

    const global = this.global(f.get("global"));
    const defaultsEntry = f.get("defaults");
    const defaults = defaultsEntry ? this.map(defaultsEntry.value, "defaults") : null;
    const df = defaults
      ? this.fields(defaults, DEFAULTS_KEYS, "defaults", "defaults.")
      : new Map<string, SrcEntry>();
    const defaultsPatch = this.settingsPatch(df, "defaults", global);
    const defaultsServer = this.defaultServer(df.get("default-server"), "defaults.default-server");

    const backends = this.backends(f.get("backends"), global, defaultsPatch, defaultsServer);
    const frontends = this.frontends(f.get("frontends"), global, defaultsPatch);
    const admin = this.admin(f.get("admin"));

    if (!f.has("frontends") || frontends.length === 0) {
      this.error(
        f.get("frontends")?.keyLoc ?? top?.loc ?? fileLoc,
        "no frontend: nothing would listen (add a `frontends:` section with a `bind` address)",
      );
    }
    this.crossChecks(frontends, backends, admin);

    this.diagnostics.sort((a, b) =>
      a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1
    );
    if (this.diagnostics.some((d) => d.severity === "error")) {
      return { config: null, diagnostics: this.diagnostics };
    }
    const warnings = this.diagnostics.filter((d) => d.severity === "warning");
    return {
      config: { file: this.file, format, global, frontends, backends, admin, warnings },
      diagnostics: this.diagnostics,
    };
  }

  // ---- generic readers ----

  map(node: SrcNode, where: string): SrcMap | null {
    if (node.kind === "map") return node;
    this.error(node.loc, `${where}: expected a map of "key: value" lines, got ${describe(node)}`);
    return null;
  }

  /** Checks the keys of `m` (unknown, duplicate) and returns the first entry of each. */
  fields(m: SrcMap, allowed: string[], where: string, path: string): Map<string, SrcEntry> {
    const out = new Map<string, SrcEntry>();
    for (const e of m.entries) {
      const prev = out.get(e.key);
      if (prev) {
        this.error(
          e.keyLoc,
          `duplicate key "${path}${e.key}" (first given at line ${prev.keyLoc.line})`,
        );
        continue;
      }
      if (!allowed.includes(e.key)) {
        this.error(e.keyLoc, unknownKey(e.key, allowed, where));
        continue;
      }
      out.set(e.key, e);
    }
    return out;
  }

  /** Entries of a name -> thing map, with duplicate names reported. */
  named(node: SrcNode, what: string, path: string): SrcEntry[] {
    const m = this.map(node, path);
    if (!m) return [];
    const seen = new Map<string, SrcEntry>();
    const out: SrcEntry[] = [];
    for (const e of m.entries) {
      const prev = seen.get(e.key);
      if (prev) {
        this.error(
          e.keyLoc,
          `${what} '${e.key}' has the same name as the ${what} declared at line ${prev.keyLoc.line}`,
        );
        continue;
      }
      seen.set(e.key, e);
      out.push(e);
    }
    return out;
  }

  str(e: SrcEntry | undefined, path: string): string | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "string") {
      if (v.value.trim() === "") {
        this.error(v.loc, `${path}: must not be empty`);
        return undefined;
      }
      return v.value.trim();
    }
    if (v.kind === "scalar" && typeof v.value === "number") return String(v.value);
    this.error(v.loc, `${path}: expected a string, got ${describe(v)}`);
    return undefined;
  }

  bool(e: SrcEntry | undefined, path: string): boolean | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "boolean") return v.value;
    this.error(v.loc, `${path}: expected true or false, got ${describe(v)}`);
    return undefined;
  }

  int(e: SrcEntry | undefined, path: string, min: number, max: number): number | undefined {
    if (!e) return undefined;
    const v = e.value;
    let n: number | undefined;
    if (v.kind === "scalar" && typeof v.value === "number") n = v.value;
    else if (v.kind === "scalar" && typeof v.value === "string" && /^\s*\d+\s*$/.test(v.value)) {
      n = Number(v.value);
    }
    if (n === undefined || !Number.isInteger(n)) {
      this.error(v.loc, `${path}: expected a whole number, got ${describe(v)}`);
      return undefined;
    }
    if (n < min || n > max) {
      this.error(v.loc, `${path}: ${n} is out of range (${min} to ${max})`);
      return undefined;
    }
    return n;
  }

  duration(e: SrcEntry | undefined, path: string): Millis | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v.kind !== "scalar" || (typeof v.value !== "string" && typeof v.value !== "number")) {
      this.error(
        v.loc,
        `${path}: expected a duration such as 5000, "1500ms" or "5s", got ${describe(v)}`,
      );
      return undefined;
    }
    try {
      return parseDuration(v.value);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      this.error(v.loc, `${path}: ${err.message}`);
      return undefined;
    }
  }

  address(node: SrcNode, path: string, opts: AddressOptions) {
    if (node.kind !== "scalar" || typeof node.value !== "string") {
      this.error(
        node.loc,
        `${path}: expected an address such as "127.0.0.1:8080", got ${describe(node)}`,
      );
      return undefined;
    }
    try {
      return { text: node.value.trim(), address: parseAddress(node.value, opts) };
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      this.error(node.loc, `${path}: ${err.message}`);
      return undefined;
    }
  }

  oneOf<T extends string>(
    e: SrcEntry | undefined,
    path: string,
    values: readonly T[],
  ): T | undefined {
    const s = this.str(e, path);
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return s as T;
    const near = suggest(s, values);
    this.error(
      e!.value.loc,
      `${path}: unknown value "${s}"${near ? ` (did you mean "${near}"?)` : ""}; expected one of ${
        values.join(", ")
      }`,
    );
    return undefined;
  }

  checkName(e: SrcEntry, what: string): void {
    if (e.key === "") this.error(e.keyLoc, `a ${what} needs a name`);
    else if (!NAME_RE.test(e.key)) {
      const bad = [...e.key].find((c) => !/[A-Za-z0-9_.:-]/.test(c));
      this.error(
        e.keyLoc,
        `character '${bad}' is not permitted in ${what} name '${e.key}' (letters, digits, '-', '_', '.' and ':' are)`,
      );
    }
  }

  // ---- global, log targets ----

  global(e: SrcEntry | undefined): GlobalSection {
    const g: GlobalSection = builtinGlobal();
    const m = e ? this.map(e.value, "global") : null;
    const f = m ? this.fields(m, GLOBAL_KEYS, "global", "global.") : new Map<string, SrcEntry>();
    g.maxconn = this.int(f.get("maxconn"), "global.maxconn", 1, 1_000_000) ?? g.maxconn;
    g.logTag = this.str(f.get("log-tag"), "global.log-tag") ?? g.logTag;
    const log = f.get("log");
    if (log && !(log.value.kind === "scalar" && log.value.value === null)) {
      if (log.value.kind !== "seq") {
        this.error(
          log.value.loc,
          `global.log: expected a list of log targets, got ${describe(log.value)}`,
        );
      } else {
        g.log = log.value.items.flatMap((item, i) =>
          this.logTarget(item, `global.log[${i}]`) ?? []
        );
      }
    }
    // No syslog target: access lines and events go to stdout (a proxy still opts in with `log: global`).
    if (g.log.length === 0) {
      g.log = [{
        kind: "stdout",
        text: "stdout",
        host: "",
        port: 0,
        path: null,
        facility: "local0",
        level: "debug",
        minLevel: "emerg",
        format: "rfc3164",
        loc: log?.keyLoc ?? e?.keyLoc ?? { file: this.file, line: 1, col: 1 },
      }];
    }
    return g;
  }

  logTarget(node: SrcNode, path: string): LogTarget | undefined {
    const m = this.map(node, path);
    if (!m) return undefined;
    const f = this.fields(m, LOG_TARGET_KEYS, path, "");
    const addrEntry = f.get("address");
    const facility = this.oneOf(f.get("facility"), `${path}.facility`, FACILITIES);
    const level = this.oneOf(f.get("level"), `${path}.level`, LEVELS) ?? "debug";
    const minLevel = this.oneOf(f.get("min-level"), `${path}.min-level`, LEVELS) ?? "emerg";
    const format = this.oneOf(f.get("format"), `${path}.format`, ["rfc3164", "json"] as const) ??
      "rfc3164";
    if (!addrEntry) {
      this.error(
        m.loc,
        `${path}: missing "address" (e.g. 127.0.0.1, 127.0.0.1:514, /dev/log or stdout)`,
      );
    }
    if (!f.has("facility")) this.error(m.loc, `${path}: missing "facility" (e.g. local0)`);
    if (LEVELS.indexOf(minLevel) > LEVELS.indexOf(level)) {
      this.error(
        f.get("min-level")!.value.loc,
        `${path}: min-level "${minLevel}" is less severe than level "${level}": no message would be sent`,
      );
    }
    if (!addrEntry || !facility) return undefined;
    const text = this.str(addrEntry, `${path}.address`);
    if (text === undefined) return undefined;
    const base = { text, facility, level, minLevel, format, loc: m.loc };
    if (text === "stdout") return { ...base, kind: "stdout", host: "", port: 0, path: null };
    if (text.startsWith("/")) return { ...base, kind: "unix", host: "", port: 0, path: text };
    const a = this.address(addrEntry.value, `${path}.address`, { defaultPort: 514 });
    if (!a) return undefined;
    if (a.address.wildcard) {
      this.error(
        addrEntry.value.loc,
        `${path}.address: "${text}" is a wildcard; a log target needs the address of a syslog server`,
      );
      return undefined;
    }
    return { ...base, kind: "udp", host: a.address.host, port: a.address.port, path: null };
  }

  /** `log:` of a proxy: "global", "none"/false, or a list of targets. */
  proxyLog(e: SrcEntry, path: string, global: GlobalSection): LogTarget[] | undefined {
    const v = e.value;
    if (v.kind === "scalar") {
      if (v.value === "global") return global.log;
      if (v.value === "none" || v.value === false || v.value === null) return [];
      this.error(
        v.loc,
        `${path}: expected "global", "none" or a list of log targets, got ${describe(v)}`,
      );
      return undefined;
    }
    if (v.kind === "seq") {
      return v.items.flatMap((item, i) => this.logTarget(item, `${path}[${i}]`) ?? []);
    }
    this.error(v.loc, `${path}: expected "global", "none" or a list of log targets, got a map`);
    return undefined;
  }

  // ---- proxy settings (defaults, frontends, backends) ----

  settingsPatch(f: Map<string, SrcEntry>, path: string, global: GlobalSection): SettingsPatch {
    const p: SettingsPatch = { options: {}, timeouts: {} };
    const mode = f.get("mode");
    if (mode) {
      const s = this.str(mode, `${path}.mode`);
      if (s === "http") p.mode = "http";
      else if (s === "tcp") {
        this.error(
          mode.value.loc,
          `${path}.mode: mode tcp is not supported: wtproxy proxies HTTP and WebSocket (mode http)`,
        );
      } else if (s !== undefined) {
        this.error(mode.value.loc, `${path}.mode: unknown mode "${s}" (only "http")`);
      }
    }
    const log = f.get("log");
    if (log) p.log = this.proxyLog(log, `${path}.log`, global);
    p.retries = this.int(f.get("retries"), `${path}.retries`, 0, 100);
    p.maxconn = this.int(f.get("maxconn"), `${path}.maxconn`, 0, 1_000_000);

    const opts = f.get("options");
    const om = opts ? this.map(opts.value, `${path}.options`) : null;
    if (om) {
      const of = this.fields(om, OPTION_KEYS, `${path}.options`, `${path}.options.`);
      const b = (k: string) => this.bool(of.get(k), `${path}.options.${k}`);
      const o = p.options;
      o.httplog = b("httplog");
      o.dontlognull = b("dontlognull");
      o.httpServerClose = b("http-server-close");
      o.httpPretendKeepalive = b("http-pretend-keepalive");
      o.httpKeepAlive = b("http-keep-alive");
      o.httpclose = b("httpclose");
      o.redispatch = b("redispatch");
      if (of.has("forwardfor")) {
        o.forwardfor = this.forwardfor(of.get("forwardfor")!, `${path}.options.forwardfor`);
      }
      if (of.has("originalto")) {
        o.originalto = this.originalto(of.get("originalto")!, `${path}.options.originalto`);
      }
      if (of.has("httpchk")) {
        o.httpchk = this.httpchk(of.get("httpchk")!, `${path}.options.httpchk`);
      }
      for (const k of Object.keys(o) as (keyof ProxyOptions)[]) if (o[k] === undefined) delete o[k];
    }

    const tm = f.get("timeouts");
    const tmap = tm ? this.map(tm.value, `${path}.timeouts`) : null;
    if (tmap) {
      const tf = this.fields(tmap, TIMEOUT_KEYS, `${path}.timeouts`, `${path}.timeouts.`);
      const names: [string, keyof Timeouts][] = [
        ["connect", "connect"],
        ["client", "client"],
        ["server", "server"],
        ["tunnel", "tunnel"],
        ["http-request", "httpRequest"],
        ["http-keep-alive", "httpKeepAlive"],
        ["check", "check"],
        ["queue", "queue"],
      ];
      for (const [key, field] of names) {
        const ms = this.duration(tf.get(key), `${path}.timeouts.${key}`);
        // 0 means "no timeout", as in HAProxy (and it is then reported as missing).
        if (ms !== undefined) p.timeouts[field] = ms === 0 ? null : ms;
      }
    }

    const hc = f.get("http-check");
    const hm = hc ? this.map(hc.value, `${path}.http-check`) : null;
    if (hm) {
      const hf = this.fields(hm, ["expect"], `${path}.http-check`, `${path}.http-check.`);
      const ex = hf.get("expect");
      const text = this.str(ex, `${path}.http-check.expect`);
      if (ex && text !== undefined) {
        const value = this.expect(text, ex.value.loc, `${path}.http-check.expect`);
        if (value !== undefined) p.expect = { value, loc: ex.value.loc };
      }
    }
    return p;
  }

  forwardfor(e: SrcEntry, path: string): ForwardForOption | null | undefined {
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "boolean") {
      return v.value ? { except: null, header: "x-forwarded-for", ifNone: false } : null;
    }
    const m = this.map(v, path);
    if (!m) return undefined;
    const f = this.fields(m, ["except", "header", "if-none"], path, `${path}.`);
    return {
      except: this.cidr(f.get("except"), `${path}.except`),
      header: this.header(f.get("header"), `${path}.header`) ?? "x-forwarded-for",
      ifNone: this.bool(f.get("if-none"), `${path}.if-none`) ?? false,
    };
  }

  originalto(e: SrcEntry, path: string): OriginalToOption | null | undefined {
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "boolean") {
      return v.value ? { except: null, header: "x-original-to" } : null;
    }
    const m = this.map(v, path);
    if (!m) return undefined;
    const f = this.fields(m, ["except", "header"], path, `${path}.`);
    return {
      except: this.cidr(f.get("except"), `${path}.except`),
      header: this.header(f.get("header"), `${path}.header`) ?? "x-original-to",
    };
  }

  cidr(e: SrcEntry | undefined, path: string): string | null {
    const s = this.str(e, path);
    if (s === undefined) return null;
    const problem = checkCidr(s);
    if (problem) this.error(e!.value.loc, `${path}: ${problem}`);
    return s;
  }

  header(e: SrcEntry | undefined, path: string): string | undefined {
    const s = this.str(e, path);
    if (s === undefined) return undefined;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s)) {
      this.error(e!.value.loc, `${path}: "${s}" is not a valid header name`);
      return undefined;
    }
    return s.toLowerCase();
  }

  httpchk(e: SrcEntry, path: string): HttpCheck | null | undefined {
    const v = e.value;
    const make = (method: string, uri: string, version: string): HttpCheck => ({
      method,
      uri,
      version,
      expect: null,
    });
    if (v.kind === "scalar" && typeof v.value === "boolean") {
      return v.value ? make("OPTIONS", "/", "HTTP/1.0") : null;
    }
    if (v.kind === "scalar" && typeof v.value === "string") {
      // HAProxy's `option httpchk [METHOD] URI [VERSION]`: one word is the URI.
      const w = v.value.trim().split(/\s+/);
      if (w.length === 1 && w[0] !== "") return make("OPTIONS", w[0], "HTTP/1.0");
      if (w.length === 2 || w.length === 3) {
        if (!/^[A-Z]+$/.test(w[0])) {
          this.error(v.loc, `${path}: "${w[0]}" is not an HTTP method (write e.g. "GET /health")`);
          return undefined;
        }
        return make(w[0], w[1], w[2] ?? "HTTP/1.0");
      }
      this.error(
        v.loc,
        `${path}: expected "URI", "METHOD URI" or "METHOD URI VERSION", got "${v.value}"`,
      );
      return undefined;
    }
    const m = this.map(v, path);
    if (!m) return undefined;
    const f = this.fields(m, ["method", "uri", "version"], path, `${path}.`);
    return make(
      this.str(f.get("method"), `${path}.method`) ?? "OPTIONS",
      this.str(f.get("uri"), `${path}.uri`) ?? "/",
      this.str(f.get("version"), `${path}.version`) ?? "HTTP/1.0",
    );
  }

  expect(text: string, loc: Loc, path: string): Expect | undefined {
    const m = /^(status|rstatus|string|rstring)\s+(.+)$/.exec(text);
    if (!m) {
      this.error(
        loc,
        `${path}: expected "status 200", "status 200-399", "rstatus REGEX", "string TEXT" or "rstring REGEX", got "${text}"`,
      );
      return undefined;
    }
    const kind = m[1] as "status" | "rstatus" | "string" | "rstring";
    const value = m[2].trim();
    if (kind === "status" && !/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(value)) {
      this.error(loc, `${path}: "${value}" is not a status code or range such as 200 or 200-399`);
      return undefined;
    }
    if (kind === "rstatus" || kind === "rstring") {
      try {
        new RegExp(value);
      } catch (err) {
        this.error(
          loc,
          `${path}: invalid regular expression "${value}": ${(err as Error).message}`,
        );
        return undefined;
      }
    }
    return { kind, value };
  }

  resolveSettings(defaults: SettingsPatch, own: SettingsPatch): ProxySettings {
    return {
      mode: "http",
      options: { ...BUILTIN_OPTIONS, ...defaults.options, ...own.options },
      retries: own.retries ?? defaults.retries ?? BUILTIN_RETRIES,
      maxconn: own.maxconn ?? defaults.maxconn ?? BUILTIN_MAXCONN,
      timeouts: { ...NO_TIMEOUTS, ...defaults.timeouts, ...own.timeouts },
      log: own.log ?? defaults.log ?? [],
    };
  }

  // ---- frontends ----

  frontends(
    e: SrcEntry | undefined,
    global: GlobalSection,
    defaults: SettingsPatch,
  ): FrontendConfig[] {
    if (!e) return [];
    const out: FrontendConfig[] = [];
    for (const fe of this.named(e.value, "frontend", "frontends")) {
      this.checkName(fe, "frontend");
      const path = `frontends.${fe.key}`;
      const m = this.map(fe.value, path);
      if (!m) continue;
      const f = this.fields(m, FRONTEND_KEYS, `frontend '${fe.key}'`, `${path}.`);
      const own = this.settingsPatch(f, path, global);
      const settings = this.resolveSettings(defaults, own);
      if (settings.maxconn > global.maxconn) {
        this.warn(
          (f.get("maxconn") ?? fe).keyLoc,
          `${path}: maxconn ${settings.maxconn} is above global.maxconn ${global.maxconn}, which caps it`,
        );
      }
      const binds = this.binds(f.get("bind"), fe, path);
      const acls = this.acls(f.get("acls"), path);
      const useBackend = this.useBackend(f.get("use_backend"), path);
      const defaultBackend = this.str(f.get("default_backend"), `${path}.default_backend`) ?? null;
      out.push({ name: fe.key, binds, acls, useBackend, defaultBackend, settings, loc: fe.keyLoc });
    }
    return out;
  }

  binds(e: SrcEntry | undefined, fe: SrcEntry, path: string): Bind[] {
    const noBind =
      `frontend '${fe.key}' has no bind: add e.g. bind: "0.0.0.0:8080" (a section that should not listen belongs under backends)`;
    if (!e) {
      this.error(fe.keyLoc, noBind);
      return [];
    }
    const items = e.value.kind === "seq" ? e.value.items : [e.value];
    if (items.length === 0) this.error(e.value.loc, noBind);
    const out: Bind[] = [];
    for (const [i, item] of items.entries()) {
      const where = e.value.kind === "seq" ? `${path}.bind[${i}]` : `${path}.bind`;
      const a = this.address(item, where, { allowPortZero: true });
      if (a) out.push({ ...a.address, text: a.text, loc: item.loc });
    }
    return out;
  }

  acls(e: SrcEntry | undefined, path: string): AclLine[] {
    if (!e) return [];
    const m = this.map(e.value, `${path}.acls`);
    if (!m) return [];
    const out: AclLine[] = [];
    const seen = new Map<string, Loc>();
    for (const a of m.entries) {
      const prev = seen.get(a.key);
      if (prev) {
        this.error(
          a.keyLoc,
          `ACL '${a.key}' is already defined at line ${prev.line}: give several texts as a list under one name (they are ORed)`,
        );
        continue;
      }
      seen.set(a.key, a.keyLoc);
      if (!/^[A-Za-z0-9_.:-]+$/.test(a.key)) {
        this.error(
          a.keyLoc,
          `invalid ACL name '${a.key}' (letters, digits, '-', '_', '.' and ':' only)`,
        );
        continue;
      }
      const texts = a.value.kind === "seq" ? a.value.items : [a.value];
      if (texts.length === 0) {
        this.error(a.value.loc, `${path}.acls.${a.key}: empty list of ACL texts`);
      }
      for (const t of texts) {
        if (t.kind !== "scalar" || typeof t.value !== "string" || t.value.trim() === "") {
          this.error(
            t.loc,
            `${path}.acls.${a.key}: expected ACL text such as "url_sub wtd=wt1", got ${
              describe(t)
            }`,
          );
          continue;
        }
        out.push({ name: a.key, text: t.value.trim(), loc: t.loc });
      }
    }
    return out;
  }

  useBackend(e: SrcEntry | undefined, path: string): UseBackendRule[] {
    if (!e) return [];
    const where = `${path}.use_backend`;
    if (e.value.kind !== "seq") {
      this.error(
        e.value.loc,
        `${where}: expected a list of rules such as - { backend: bck1, if: srv1 }, got ${
          describe(e.value)
        }`,
      );
      return [];
    }
    const out: UseBackendRule[] = [];
    for (const [i, item] of e.value.items.entries()) {
      const m = this.map(item, `${where}[${i}]`);
      if (!m) continue;
      const f = this.fields(m, ["backend", "if", "unless"], `${where}[${i}]`, "");
      const backend = this.str(f.get("backend"), `${where}[${i}].backend`);
      if (!f.has("backend")) this.error(m.loc, `${where}[${i}]: missing "backend"`);
      const ifE = f.get("if");
      const unlessE = f.get("unless");
      if (ifE && unlessE) {
        this.error(unlessE.keyLoc, `${where}[${i}]: give either "if" or "unless", not both`);
        continue;
      }
      if (!ifE && !unlessE) {
        this.error(
          m.loc,
          `${where}[${i}]: missing condition ("if: ACL..." or "unless: ACL..."); use default_backend for a backend without condition`,
        );
        continue;
      }
      const polarity = ifE ? "if" : "unless";
      const condition = this.str(ifE ?? unlessE, `${where}[${i}].${polarity}`);
      if (backend === undefined || condition === undefined) continue;
      // The condition's own place, so ACL errors point at the offending word.
      out.push({
        backend,
        polarity,
        condition,
        loc: (ifE ?? unlessE)!.value.loc,
        backendLoc: f.get("backend")!.value.loc,
      });
    }
    return out;
  }

  // ---- backends and servers ----

  defaultServer(e: SrcEntry | undefined, path: string): ServerPatch {
    const m = e ? this.map(e.value, path) : null;
    if (!m) return {};
    return this.serverPatch(this.fields(m, DEFAULT_SERVER_KEYS, path, `${path}.`), path);
  }

  serverPatch(f: Map<string, SrcEntry>, path: string): ServerPatch {
    const p: ServerPatch = {
      check: this.bool(f.get("check"), `${path}.check`),
      weight: this.int(f.get("weight"), `${path}.weight`, 0, 256),
      backup: this.bool(f.get("backup"), `${path}.backup`),
      inter: this.positiveDuration(f.get("inter"), `${path}.inter`),
      fastinter: this.positiveDuration(f.get("fastinter"), `${path}.fastinter`),
      downinter: this.positiveDuration(f.get("downinter"), `${path}.downinter`),
      rise: this.int(f.get("rise"), `${path}.rise`, 1, 1000),
      fall: this.int(f.get("fall"), `${path}.fall`, 1, 1000),
      maxconn: this.int(f.get("maxconn"), `${path}.maxconn`, 0, 1_000_000),
      disabled: this.bool(f.get("disabled"), `${path}.disabled`),
    };
    for (const k of Object.keys(p) as (keyof ServerPatch)[]) if (p[k] === undefined) delete p[k];
    return p;
  }

  positiveDuration(e: SrcEntry | undefined, path: string): Millis | undefined {
    const ms = this.duration(e, path);
    if (ms === 0) {
      this.error(e!.value.loc, `${path}: must be greater than 0`);
      return undefined;
    }
    return ms;
  }

  backends(
    e: SrcEntry | undefined,
    global: GlobalSection,
    defaults: SettingsPatch,
    defaultsServer: ServerPatch,
  ): BackendConfig[] {
    if (!e) return [];
    const out: BackendConfig[] = [];
    for (const be of this.named(e.value, "backend", "backends")) {
      this.checkName(be, "backend");
      const path = `backends.${be.key}`;
      const m = this.map(be.value, path);
      if (!m) continue;
      const f = this.fields(m, BACKEND_KEYS, `backend '${be.key}'`, `${path}.`);
      const own = this.settingsPatch(f, path, global);
      const settings = this.resolveSettings(defaults, own);
      const expect = own.expect ?? defaults.expect;
      if (settings.options.httpchk) {
        settings.options.httpchk = { ...settings.options.httpchk, expect: expect?.value ?? null };
      } else if (expect) {
        this.warn(expect.loc, `${path}: http-check expect has no effect without options.httpchk`);
      }
      const backendServer = this.defaultServer(f.get("default-server"), `${path}.default-server`);
      const servers: ServerConfig[] = [];
      const se = f.get("servers");
      if (se) {
        for (const s of this.named(se.value, "server", `${path}.servers`)) {
          const server = this.server(s, `${path}.servers.${s.key}`, backendServer, defaultsServer);
          if (server) servers.push(server);
        }
      }
      if (servers.length === 0 && (!se || se.value.kind === "map")) {
        this.warn(be.keyLoc, `backend '${be.key}' has no server: requests routed to it get 503`);
      }
      out.push({
        name: be.key,
        balance: this.balance(f.get("balance"), `${path}.balance`, be.keyLoc),
        servers,
        // Prefix checks (same or overlapping prefixes) are validateBalance's.
        affinity: this.affinity(f.get("affinity"), `${path}.affinity`),
        settings,
        loc: be.keyLoc,
      });
    }
    return out;
  }

  server(
    s: SrcEntry,
    path: string,
    backendServer: ServerPatch,
    defaultsServer: ServerPatch,
  ): ServerConfig | undefined {
    this.checkName(s, "server");
    let m: SrcMap | null;
    // `srv1: 127.0.0.1:9090` is a short form of `srv1: { address: 127.0.0.1:9090 }`.
    if (s.value.kind === "scalar" && typeof s.value.value === "string") {
      m = {
        kind: "map",
        loc: s.value.loc,
        entries: [{ key: "address", keyLoc: s.value.loc, value: s.value }],
      };
    } else m = this.map(s.value, path);
    if (!m) return undefined;
    const f = this.fields(m, SERVER_KEYS, `server '${s.key}'`, "");
    const own = this.serverPatch(f, path);
    const addrEntry = f.get("address");
    if (!addrEntry) {
      this.error(s.keyLoc, `${path}: missing "address" (e.g. address: 127.0.0.1:9090)`);
      return undefined;
    }
    const a = this.address(addrEntry.value, `${path}.address`, {});
    if (a?.address.wildcard) {
      this.warn(
        addrEntry.value.loc,
        `${path}.address: ${a.text} is a wildcard address; connecting to it reaches this machine (write 127.0.0.1:${a.address.port} to say so)`,
      );
    }
    const r = { ...BUILTIN_SERVER, ...defaultsServer, ...backendServer, ...own };
    const trackEntry = f.get("track");
    let track: ServerConfig["track"] = null;
    const trackText = this.str(trackEntry, `${path}.track`);
    if (trackText !== undefined) {
      const parts = trackText.split("/");
      if (parts.length > 2 || parts.some((p) => p === "")) {
        this.error(
          trackEntry!.value.loc,
          `${path}.track: expected "backend/server" or "server", got "${trackText}"`,
        );
      } else {
        // `track srv` names a server of the same backend, as in HAProxy.
        const backend = parts.length === 2 ? parts[0] : path.split(".")[1];
        track = { backend, server: parts[parts.length - 1] };
      }
    }
    const prefixText = this.str(f.get("prefix"), `${path}.prefix`);
    if (prefixText !== undefined && /[\s&=?#/]/.test(prefixText)) {
      this.error(
        f.get("prefix")!.value.loc,
        `${path}.prefix: "${prefixText}" cannot be part of a Wt session id (no spaces, &, =, ?, # or /)`,
      );
    }
    // A bad address was reported; the server is kept so that `track` checks do not cascade.
    const inter = r.inter ?? BUILTIN_INTER;
    return {
      name: s.key,
      address: a?.address ?? { host: "", port: 0, wildcard: false, family: "name" },
      addressText: a?.text ?? "",
      check: r.check,
      track,
      weight: r.weight,
      backup: r.backup,
      inter,
      fastinter: r.fastinter ?? inter,
      downinter: r.downinter ?? inter,
      rise: r.rise,
      fall: r.fall,
      maxconn: r.maxconn,
      disabled: r.disabled,
      prefix: prefixText ?? null,
      loc: s.keyLoc,
    };
  }

  balance(e: SrcEntry | undefined, path: string, backendLoc: Loc): BackendConfig["balance"] {
    const dflt = { algorithm: "roundrobin", param: null, loc: e?.value.loc ?? backendLoc };
    if (!e) return dflt;
    const v = e.value;
    if (v.kind === "scalar" && typeof v.value === "string") {
      const [algorithm, ...rest] = v.value.trim().split(/\s+/);
      if (algorithm === "") {
        this.error(v.loc, `${path}: must not be empty`);
        return dflt;
      }
      return { algorithm, param: rest.length ? rest.join(" ") : null, loc: v.loc };
    }
    const m = this.map(v, path);
    if (!m) return dflt;
    const f = this.fields(m, ["algorithm", "param"], path, `${path}.`);
    if (!f.has("algorithm")) this.error(m.loc, `${path}: missing "algorithm"`);
    return {
      algorithm: this.str(f.get("algorithm"), `${path}.algorithm`) ?? "roundrobin",
      param: this.str(f.get("param"), `${path}.param`) ?? null,
      loc: v.loc,
    };
  }

  affinity(e: SrcEntry | undefined, path: string): BackendConfig["affinity"] {
    if (!e) return null;
    const m = this.map(e.value, path);
    if (!m) return null;
    const f = this.fields(m, ["url_param"], path, `${path}.`);
    const urlParam = this.str(f.get("url_param"), `${path}.url_param`);
    if (!f.has("url_param")) this.error(m.loc, `${path}: missing "url_param" (Wt's is wtd)`);
    if (urlParam === undefined) return null;
    return { urlParam };
  }

  // ---- admin ----

  admin(e: SrcEntry | undefined): AdminConfig | null {
    if (!e) return null;
    const m = this.map(e.value, "admin");
    if (!m) return null;
    const f = this.fields(m, ADMIN_KEYS, "admin", "admin.");
    const token = this.str(f.get("token"), "admin.token") ?? null;
    const be = f.get("bind");
    if (!be) {
      this.error(e.keyLoc, `admin: missing "bind" (e.g. bind: 127.0.0.1:9100)`);
      return null;
    }
    const a = this.address(be.value, "admin.bind", { allowPortZero: true });
    if (!a) return null;
    if (!isLoopback(a.address) && token === null) {
      this.error(
        be.value.loc,
        `admin.bind: ${a.text} is reachable from other machines: set admin.token, or bind 127.0.0.1`,
      );
    }
    return { bind: { ...a.address, text: a.text, loc: be.value.loc }, token, loc: e.keyLoc };
  }

  // ---- checks across sections ----

  crossChecks(
    frontends: FrontendConfig[],
    backends: BackendConfig[],
    admin: AdminConfig | null,
  ): void {
    const byName = new Map(backends.map((b) => [b.name, b]));
    const backendNames = new Set(byName.keys());
    const missing = (name: string, loc: Loc, what: string) => {
      if (backendNames.has(name)) return;
      const near = suggest(name, [...backendNames]);
      this.error(
        loc,
        `unable to find required ${what}: '${name}'${near ? ` (did you mean '${near}'?)` : ""}`,
      );
    };
    const binds: { bind: Bind; owner: string }[] = [];
    for (const f of frontends) {
      for (const r of f.useBackend) missing(r.backend, r.backendLoc ?? r.loc, "use_backend");
      if (f.defaultBackend !== null) missing(f.defaultBackend, f.loc, "default_backend");
      if (f.defaultBackend === null && f.useBackend.length === 0) {
        this.warn(
          f.loc,
          `frontend '${f.name}' has no default_backend and no use_backend: every request gets 503`,
        );
      }
      if (f.settings.timeouts.client === null) {
        this.warn(
          f.loc,
          `missing timeouts for frontend '${f.name}': client (set timeouts.client here or in defaults; without it an idle client holds its connection forever)`,
        );
      }
      for (const d of validateFrontendAcls(f, backendNames)) this.diagnostics.push(d);
      for (const b of f.binds) binds.push({ bind: b, owner: `frontend '${f.name}'` });
    }
    if (admin) binds.push({ bind: admin.bind, owner: "admin" });
    for (const [i, a] of binds.entries()) {
      const clash = binds.slice(0, i).find((b) => sameListener(a.bind, b.bind));
      if (clash) {
        this.error(
          a.bind.loc,
          `${a.bind.text} is already bound by ${clash.owner} (line ${clash.bind.loc.line})`,
        );
      }
    }

    for (const b of backends) {
      const missingT = [
        b.settings.timeouts.connect === null ? "connect" : "",
        b.settings.timeouts.server === null ? "server" : "",
      ].filter(Boolean);
      if (missingT.length) {
        this.warn(
          b.loc,
          `missing timeouts for backend '${b.name}': ${
            missingT.join(", ")
          } (set them under timeouts here or in defaults; without them a stuck server holds a connection forever)`,
        );
      }
      for (const d of validateBalance(b)) this.diagnostics.push(d);
      for (const s of b.servers) this.checkTrack(b, s, byName);
    }
  }

  checkTrack(b: BackendConfig, s: ServerConfig, byName: Map<string, BackendConfig>): void {
    if (!s.track) return;
    const loc = s.loc;
    const where = `server ${b.name}/${s.name}`;
    if (s.check) {
      this.error(
        loc,
        `${where}: unable to enable checks and tracking at the same time (remove check: a tracking server takes the tracked server's state)`,
      );
    }
    // Follow the chain: HAProxy 2.x allows tracking a tracker if the chain ends on a checked server.
    const chain = [`${b.name}/${s.name}`];
    let cur: ServerConfig = s;
    while (cur.track) {
      const { backend, server } = cur.track;
      const tb = byName.get(backend);
      if (!tb) {
        if (cur === s) {
          const near = suggest(backend, [...byName.keys()]);
          this.error(
            loc,
            `${where}: unable to find required backend '${backend}' for tracking${
              near ? ` (did you mean '${near}'?)` : ""
            }`,
          );
        }
        return;
      }
      const ts = tb.servers.find((x) => x.name === server);
      if (!ts) {
        if (cur === s) {
          const near = suggest(server, tb.servers.map((x) => x.name));
          this.error(
            loc,
            `${where}: unable to find required server '${server}' in backend '${backend}' for tracking${
              near ? ` (did you mean '${near}'?)` : ""
            }`,
          );
        }
        return;
      }
      const key = `${backend}/${server}`;
      if (chain.includes(key)) {
        this.error(loc, `${where}: track cycle ${[...chain, key].join(" -> ")}`);
        return;
      }
      chain.push(key);
      if (!ts.track && !ts.check) {
        this.error(
          loc,
          `${where}: tracked server '${key}' does not have any check enabled (add check: true to it)`,
        );
        return;
      }
      cur = ts;
    }
  }
}

function sameListener(a: Bind, b: Bind): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  if (a.host === b.host) return true;
  // A wildcard takes the port on every address of its family (:: on all of them).
  const fam = (x: Bind) =>
    x.family === "ipv4" || x.family === "any4" ? 4 : x.family === "name" ? 0 : 6;
  if (a.family === "any6" || b.family === "any6") return true;
  if (a.family === "any4" || b.family === "any4") return fam(a) === 4 && fam(b) === 4;
  return false;
}

function describe(node: SrcNode): string {
  if (node.kind === "map") return "a map";
  if (node.kind === "seq") return "a list";
  const v = node.value;
  if (v === null) return "nothing";
  if (typeof v === "string") return `"${v}"`;
  return String(v);
}

function unknownKey(key: string, allowed: string[], where: string): string {
  const hint = HINTS[key];
  const near = suggest(key, allowed);
  const tail = near
    ? ` (did you mean "${near}"?)`
    : hint
    ? ` (${hint})`
    : ` (expected one of: ${allowed.join(", ")})`;
  return `unknown key "${key}" in ${where}${tail}`;
}

/** The closest candidate, if close enough to be a typo (or the same word with _ for -). */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, "-");
  let best: string | null = null;
  let bestDist = Infinity;
  for (const c of candidates) {
    if (norm(c) === norm(word)) return c;
    const d = levenshtein(norm(word), norm(c));
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  if (bestDist <= limit) return best;
  // A clipped word ("warn" for "warning") is a near miss too.
  return candidates.find((c) => word.length >= 3 && norm(c).startsWith(norm(word))) ?? null;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
