// Cookie persistence keys: a backend's `cookie: "NAME insert indirect nocache ..."` (HAProxy's
// `cookie` line, same words, same checks) and a server's `cookie: VALUE`.
import type { BackendConfig, CookieConfig, Loc, ServerConfig, SrcEntry } from "../model.ts";
import { DurationError, parseDuration } from "../duration.ts";
import type { Reader } from "./reader.ts";
import type { SectionRule } from "./rules.ts";

export interface CookieProblem {
  severity: "error" | "warning";
  message: string;
  /** Offset of the word in the text. */
  offset: number;
}

const OPTIONS = "'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', " +
  "'maxidle', 'dynamic', 'maxlife' and 'attr'";

/** Parses the words after HAProxy's `cookie` keyword, as HAProxy 2.6 does. */
export function parseCookie(
  text: string,
  loc: Loc,
): { cookie: CookieConfig | null; problems: CookieProblem[] } {
  const problems: CookieProblem[] = [];
  const words = [...text.matchAll(/\S+/g)].map((m) => ({ text: m[0], offset: m.index! }));
  const err = (message: string, offset: number) => {
    problems.push({ severity: "error", message, offset });
  };
  if (words.length === 0) {
    err("'cookie' expects <cookie_name> as argument.", 0);
    return { cookie: null, problems };
  }
  const c: CookieConfig = {
    name: words[0].text,
    mode: "passive",
    indirect: false,
    nocache: false,
    postonly: false,
    preserve: false,
    httponly: false,
    secure: false,
    domains: [],
    attrs: [],
    maxidle: null,
    maxlife: null,
    loc,
  };
  let modes = 0;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    switch (w.text) {
      case "rewrite":
      case "insert":
      case "prefix":
        modes++;
        c.mode = w.text;
        break;
      case "indirect":
      case "nocache":
      case "postonly":
      case "preserve":
      case "httponly":
      case "secure":
        c[w.text] = true;
        break;
      case "domain":
        if (!next) return err("'domain' expects <domain> as argument.", w.offset), fail();
        if (!next.text.startsWith(".") && !next.text.slice(1).includes(".")) {
          problems.push({
            severity: "warning",
            message: `domain '${next.text}' contains no embedded dot, this configuration may ` +
              `not work properly (see RFC6265#5.2.3).`,
            offset: next.offset,
          });
        }
        c.domains.push(next.text);
        i++;
        break;
      case "maxidle":
      case "maxlife": {
        if (!next) {
          err(
            `'${w.text}' expects <${w.text === "maxidle" ? "idletime" : "lifetime"}> in ` +
              `seconds as argument.`,
            w.offset,
          );
          return fail();
        }
        let ms: number;
        try {
          ms = /^\d+$/.test(next.text) ? Number(next.text) * 1000 : parseDuration(next.text);
        } catch (e) {
          if (!(e instanceof DurationError)) throw e;
          err(`'${w.text}': ${e.message}`, next.offset);
          return fail();
        }
        if (w.text === "maxidle") c.maxidle = ms;
        else c.maxlife = ms;
        i++;
        break;
      }
      case "attr":
        if (!next) return err("'attr' expects <value> as argument.", w.offset), fail();
        if (next.text.includes(";") || hasControl(next.text)) {
          err(`'attr' : '${next.text}' must not contain ';' or control characters.`, next.offset);
          return fail();
        }
        c.attrs.push(next.text);
        i++;
        break;
      case "dynamic":
        c.dynamic = true;
        break;
      default:
        err(`'cookie' supports ${OPTIONS} options.`, w.offset);
        return fail();
    }
  }
  if (modes > 1) err("cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.", 0);
  else if (c.mode === "rewrite" && c.indirect) {
    err("cookie 'rewrite' and 'indirect' modes are incompatible.", 0);
  } else if (c.preserve && c.mode !== "insert" && !c.indirect) {
    err("cookie 'preserve' requires at least 'insert' or 'indirect'.", 0);
  }
  return { cookie: problems.some((p) => p.severity === "error") ? null : c, problems };

  function fail() {
    return { cookie: null, problems };
  }
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

function at(loc: Loc, offset: number): Loc {
  return { ...loc, col: loc.col + offset };
}

export const BACKEND_COOKIE: SectionRule<BackendConfig> = {
  keys: ["cookie", "dynamic-cookie-key"],
  read(r: Reader, f: Map<string, SrcEntry>, path: string, out: BackendConfig) {
    const e = f.get("cookie");
    const keyE = f.get("dynamic-cookie-key");
    const key = r.str(keyE, `${path}.dynamic-cookie-key`);
    if (!e) return;
    const text = r.str(e, `${path}.cookie`);
    if (text === undefined) return;
    const { cookie, problems } = parseCookie(text, e.value.loc);
    // (A .cfg line reaches here only without errors: the cfg reader refused it in its words.)
    for (const p of problems) {
      const loc = at(e.value.loc, p.offset);
      if (p.severity === "error") r.error(loc, `${path}.cookie: ${p.message}`);
      else r.warn(loc, `'cookie' : ${p.message}`);
    }
    if (cookie?.dynamic) {
      cookie.dynamicKey = key ?? null;
      if (key === undefined) {
        r.warn(
          at(e.value.loc, text.indexOf("dynamic")),
          `'cookie ... dynamic' without 'dynamic-cookie-key': servers without 'cookie VALUE' ` +
            `get no cookie.`,
        );
      }
    }
    out.cookie = cookie;
  },
};

export const SERVER_COOKIE: SectionRule<ServerConfig> = {
  keys: ["cookie"],
  read(r: Reader, f: Map<string, SrcEntry>, path: string, out: ServerConfig) {
    const e = f.get("cookie");
    if (!e) return;
    const v = r.str(e, `${path}.cookie`);
    if (v === undefined) return;
    if (/[\s;,|~"\\]/.test(v) || hasControl(v)) {
      r.error(
        e.value.loc,
        `${path}.cookie: '${v}' cannot be a cookie value (no spaces, ';', ',', '|', '~', quotes)`,
      );
      return;
    }
    out.cookie = v;
  },
};
