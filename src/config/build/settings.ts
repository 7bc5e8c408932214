// The settings defaults, frontends and backends share (mode, log, options, retries, maxconn,
// timeouts, http-check), read as a patch per section, then resolved over `defaults`.
import type {
  ForwardForOption,
  GlobalSection,
  HttpCheck,
  Loc,
  LogTarget,
  OriginalToOption,
  ProxyOptions,
  ProxySettings,
  SrcEntry,
  Timeouts,
} from "../model.ts";
import { checkCidr } from "../address.ts";
import { BUILTIN_MAXCONN, BUILTIN_OPTIONS, BUILTIN_RETRIES, NO_TIMEOUTS } from "../defaults.ts";
import { proxyLog } from "./global.ts";
import type { Reader } from "./reader.ts";
import { OPTION_KEYS, TIMEOUT_KEYS } from "./schema.ts";
import { checkSpec, httpCheckSend } from "./checks.ts";

export type Expect = HttpCheck["expect"];

/** What one section (defaults, a frontend or a backend) writes; unset keys stay undefined. */
export interface SettingsPatch {
  mode?: "http" | "tcp";
  log?: LogTarget[];
  options: Partial<ProxyOptions>;
  retries?: number;
  maxconn?: number;
  timeouts: Partial<Timeouts>;
  expect?: { value: Expect; loc: Loc };
  /** `http-check send`: what it changes in the check request. */
  send?: { value: Partial<HttpCheck>; loc: Loc };
  /** `http-check disable-on-404`. */
  disableOn404?: { value: boolean; loc: Loc };
  monitorUri?: string;
}

export function settingsPatch(
  r: Reader,
  f: Map<string, SrcEntry>,
  path: string,
  global: GlobalSection,
): SettingsPatch {
  const p: SettingsPatch = { options: {}, timeouts: {} };
  const mode = f.get("mode");
  if (mode) {
    const s = r.str(mode, `${path}.mode`);
    if (s === "http" || s === "tcp") p.mode = s;
    else if (s !== undefined) {
      r.error(mode.value.loc, `${path}.mode: unknown mode "${s}" ("http" or "tcp")`);
    }
  }
  const mu = f.get("monitor-uri");
  const muText = r.str(mu, `${path}.monitor-uri`);
  if (muText !== undefined) p.monitorUri = muText;
  const log = f.get("log");
  if (log) p.log = proxyLog(r, log, `${path}.log`, global);
  p.retries = r.int(f.get("retries"), `${path}.retries`, 0, 100);
  p.maxconn = r.int(f.get("maxconn"), `${path}.maxconn`, 0, 1_000_000);

  const opts = f.get("options");
  const om = opts ? r.map(opts.value, `${path}.options`) : null;
  if (om) {
    const of = r.fields(om, OPTION_KEYS, `${path}.options`, `${path}.options.`);
    const b = (k: string) => r.bool(of.get(k), `${path}.options.${k}`);
    const o = p.options;
    o.httplog = b("httplog");
    o.dontlognull = b("dontlognull");
    o.allbackups = b("allbackups");
    o.httpServerClose = b("http-server-close");
    o.httpPretendKeepalive = b("http-pretend-keepalive");
    o.httpKeepAlive = b("http-keep-alive");
    o.httpclose = b("httpclose");
    o.redispatch = b("redispatch");
    o.tcplog = b("tcplog");
    if (of.has("forwardfor")) {
      o.forwardfor = forwardfor(r, of.get("forwardfor")!, `${path}.options.forwardfor`);
    }
    if (of.has("originalto")) {
      o.originalto = originalto(r, of.get("originalto")!, `${path}.options.originalto`);
    }
    if (of.has("httpchk")) {
      o.httpchk = httpchk(r, of.get("httpchk")!, `${path}.options.httpchk`);
    }
    const spec = checkSpec(r, of, `${path}.options`, f.get("tcp-check"));
    if (spec !== undefined) o.tcpCheck = spec;
    for (const k of Object.keys(o) as (keyof ProxyOptions)[]) if (o[k] === undefined) delete o[k];
  }

  const tm = f.get("timeouts");
  const tmap = tm ? r.map(tm.value, `${path}.timeouts`) : null;
  if (tmap) {
    const tf = r.fields(tmap, TIMEOUT_KEYS, `${path}.timeouts`, `${path}.timeouts.`);
    const names: [string, keyof Timeouts][] = [
      ["connect", "connect"],
      ["client", "client"],
      ["server", "server"],
      ["tunnel", "tunnel"],
      ["http-request", "httpRequest"],
      ["http-keep-alive", "httpKeepAlive"],
      ["check", "check"],
      ["queue", "queue"],
      ["client-fin", "clientFin"],
      ["server-fin", "serverFin"],
    ];
    for (const [key, field] of names) {
      const ms = r.duration(tf.get(key), `${path}.timeouts.${key}`);
      // 0 means "no timeout", as in HAProxy (and it is then reported as missing).
      if (ms !== undefined) p.timeouts[field] = ms === 0 ? null : ms;
      else if (tf.has(key)) r.failed.add(`${path}.timeouts.${key}`);
    }
  }

  const hc = f.get("http-check");
  const hm = hc ? r.map(hc.value, `${path}.http-check`) : null;
  if (hm) {
    const hf = r.fields(
      hm,
      ["expect", "send", "disable-on-404"],
      `${path}.http-check`,
      `${path}.http-check.`,
    );
    const d4 = hf.get("disable-on-404");
    const on = r.bool(d4, `${path}.http-check.disable-on-404`);
    if (d4 && on !== undefined) p.disableOn404 = { value: on, loc: d4.value.loc };
    const se = hf.get("send");
    if (se) {
      const value = httpCheckSend(r, se, `${path}.http-check.send`);
      if (value) p.send = { value, loc: se.value.loc };
    }
    const ex = hf.get("expect");
    const text = r.str(ex, `${path}.http-check.expect`);
    if (ex && text !== undefined) {
      const value = expect(r, text, ex.value.loc, `${path}.http-check.expect`);
      if (value !== undefined) p.expect = { value, loc: ex.value.loc };
    }
  }
  return p;
}

export function forwardfor(
  r: Reader,
  e: SrcEntry,
  path: string,
): ForwardForOption | null | undefined {
  const v = e.value;
  if (v.kind === "scalar" && typeof v.value === "boolean") {
    return v.value ? { except: null, header: "x-forwarded-for", ifNone: false } : null;
  }
  const m = r.map(v, path);
  if (!m) return undefined;
  const f = r.fields(m, ["except", "header", "if-none"], path, `${path}.`);
  return {
    except: cidr(r, f.get("except"), `${path}.except`),
    header: header(r, f.get("header"), `${path}.header`) ?? "x-forwarded-for",
    ifNone: r.bool(f.get("if-none"), `${path}.if-none`) ?? false,
  };
}

export function originalto(
  r: Reader,
  e: SrcEntry,
  path: string,
): OriginalToOption | null | undefined {
  const v = e.value;
  if (v.kind === "scalar" && typeof v.value === "boolean") {
    return v.value ? { except: null, header: "x-original-to" } : null;
  }
  const m = r.map(v, path);
  if (!m) return undefined;
  const f = r.fields(m, ["except", "header"], path, `${path}.`);
  return {
    except: cidr(r, f.get("except"), `${path}.except`),
    header: header(r, f.get("header"), `${path}.header`) ?? "x-original-to",
  };
}

export function cidr(r: Reader, e: SrcEntry | undefined, path: string): string | null {
  const s = r.str(e, path);
  if (s === undefined) return null;
  const problem = checkCidr(s);
  if (problem) r.error(e!.value.loc, `${path}: ${problem}`);
  return s;
}

export function header(r: Reader, e: SrcEntry | undefined, path: string): string | undefined {
  const s = r.str(e, path);
  if (s === undefined) return undefined;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s)) {
    r.error(e!.value.loc, `${path}: "${s}" is not a valid header name`);
    return undefined;
  }
  return s.toLowerCase();
}

export function httpchk(r: Reader, e: SrcEntry, path: string): HttpCheck | null | undefined {
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
        r.error(v.loc, `${path}: "${w[0]}" is not an HTTP method (write e.g. "GET /health")`);
        return undefined;
      }
      return make(w[0], w[1], w[2] ?? "HTTP/1.0");
    }
    r.error(
      v.loc,
      `${path}: expected "URI", "METHOD URI" or "METHOD URI VERSION", got "${v.value}"`,
    );
    return undefined;
  }
  const m = r.map(v, path);
  if (!m) return undefined;
  const f = r.fields(m, ["method", "uri", "version"], path, `${path}.`);
  return make(
    r.str(f.get("method"), `${path}.method`) ?? "OPTIONS",
    r.str(f.get("uri"), `${path}.uri`) ?? "/",
    r.str(f.get("version"), `${path}.version`) ?? "HTTP/1.0",
  );
}

export function expect(r: Reader, text: string, loc: Loc, path: string): Expect | undefined {
  const m = /^(!\s*)?(status|rstatus|string|rstring)\s+(.+)$/.exec(text);
  if (!m) {
    r.error(
      loc,
      `${path}: expected "status 200", "status 200-399", "rstatus REGEX", "string TEXT" or "rstring REGEX", got "${text}"`,
    );
    return undefined;
  }
  const kind = m[2] as "status" | "rstatus" | "string" | "rstring";
  const value = m[3].trim();
  const negate = m[1] !== undefined;
  if (kind === "status" && !/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(value)) {
    r.error(loc, `${path}: "${value}" is not a status code or range such as 200 or 200-399`);
    return undefined;
  }
  if (kind === "rstatus" || kind === "rstring") {
    try {
      new RegExp(value);
    } catch (err) {
      r.error(
        loc,
        `${path}: invalid regular expression "${value}": ${(err as Error).message}`,
      );
      return undefined;
    }
  }
  return negate ? { kind, value, negate } : { kind, value };
}

export function resolveSettings(defaults: SettingsPatch, own: SettingsPatch): ProxySettings {
  const options = { ...BUILTIN_OPTIONS, ...defaults.options, ...own.options };
  const monitorUri = own.monitorUri ?? defaults.monitorUri;
  // One check type per proxy: a section choosing one replaces the one of its defaults.
  const ownCheck = own.options.httpchk !== undefined || own.options.tcpCheck !== undefined;
  if (ownCheck) {
    options.httpchk = own.options.httpchk ?? null;
    options.tcpCheck = own.options.tcpCheck ?? null;
  }
  return {
    mode: own.mode ?? defaults.mode ?? "http",
    options,
    retries: own.retries ?? defaults.retries ?? BUILTIN_RETRIES,
    maxconn: own.maxconn ?? defaults.maxconn ?? BUILTIN_MAXCONN,
    timeouts: { ...NO_TIMEOUTS, ...defaults.timeouts, ...own.timeouts },
    log: own.log ?? defaults.log ?? [],
    ...(monitorUri !== undefined ? { monitorUri } : {}),
  };
}
