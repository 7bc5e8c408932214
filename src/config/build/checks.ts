// The check types besides `options.httpchk`: `options.tcp-check` with its `tcp-check` rule
// list (HAProxy's words, one rule per item), `ssl-hello-chk`, `mysql-check`, `pgsql-check`,
// `redis-check`; and `http-check.send`.
import type { CheckSpec, HttpCheck, SrcEntry, TcpCheckRule } from "../model.ts";
import type { Reader } from "./reader.ts";

const CHECK_KEYS = ["tcp-check", "ssl-hello-chk", "mysql-check", "pgsql-check", "redis-check"];

/** The check type an `options` map chooses (undefined: none said; null: turned off). */
export function checkSpec(
  r: Reader,
  of: Map<string, SrcEntry>,
  path: string,
  rulesEntry: SrcEntry | undefined,
): CheckSpec | null | undefined {
  const given = CHECK_KEYS.filter((k) => of.has(k));
  const chosen = [...given, ...(of.has("httpchk") ? ["httpchk"] : [])];
  if (chosen.length > 1) {
    r.error(
      of.get(chosen[1])!.keyLoc,
      `${path}: ${chosen.map((k) => `"${k}"`).join(" and ")} both choose the health check; ` +
        `a proxy has one check type (HAProxy keeps the last 'option' line)`,
    );
  }
  const rules = rulesEntry
    ? tcpCheckRules(r, rulesEntry, path.replace(/\.options$/, ".tcp-check"))
    : [];
  let spec: CheckSpec | null | undefined;
  for (const k of given) {
    const e = of.get(k)!;
    const p = `${path}.${k}`;
    const v = e.value;
    const on = v.kind === "scalar" && typeof v.value === "boolean" ? v.value : null;
    if (on === false) {
      spec ??= null;
      continue;
    }
    switch (k) {
      case "tcp-check":
      case "ssl-hello-chk":
      case "redis-check":
        if (on === null) r.error(v.loc, `${p}: expected true or false`);
        else {
          spec = k === "tcp-check"
            ? { kind: "tcp-check", rules }
            : { kind: k === "ssl-hello-chk" ? "ssl-hello" : "redis" };
        }
        break;
      case "mysql-check": {
        if (on === true) {
          spec = { kind: "mysql", user: null, post41: true };
          break;
        }
        const m = r.map(v, p);
        if (!m) break;
        const f = r.fields(m, ["user", "pre-41"], p, `${p}.`);
        const user = r.str(f.get("user"), `${p}.user`);
        if (user === undefined) r.error(m.loc, `${p}: missing "user" (or write true)`);
        else {spec = {
            kind: "mysql",
            user,
            post41: !(r.bool(f.get("pre-41"), `${p}.pre-41`) ?? false),
          };}
        break;
      }
      case "pgsql-check": {
        const m = on === true ? null : r.map(v, p);
        const user = m
          ? r.str(r.fields(m, ["user"], p, `${p}.`).get("user"), `${p}.user`)
          : undefined;
        if (user === undefined) {
          r.error(v.loc, `${p}: expects { user: NAME } (the PostgreSQL role the check logs in as)`);
        } else spec = { kind: "pgsql", user };
        break;
      }
    }
  }
  if (rulesEntry && spec?.kind !== "tcp-check" && !of.get("tcp-check")) {
    r.warn(
      rulesEntry.keyLoc,
      `${path.replace(/\.options$/, "")}.tcp-check: the rules have no effect without ` +
        `options.tcp-check (HAProxy's 'option tcp-check')`,
    );
  }
  return spec;
}

/** `tcp-check` items: "connect [port N]", "send TEXT", "send-binary HEX",
 * "expect [min-recv N] [!] string|binary|rstring|rbinary PATTERN". */
export function tcpCheckRules(r: Reader, e: SrcEntry, path: string): TcpCheckRule[] {
  const items = e.value.kind === "seq" ? e.value.items : [e.value];
  const out: TcpCheckRule[] = [];
  for (const [i, item] of items.entries()) {
    const where = `${path}[${i}]`;
    if (item.kind !== "scalar" || typeof item.value !== "string") {
      r.error(
        item.loc,
        `${where}: expected a rule such as "send PING\\r\\n" or "expect string +PONG"`,
      );
      continue;
    }
    const text = item.value;
    const loc = item.loc;
    const verb = /^\S+/.exec(text)?.[0] ?? "";
    const rest = text.slice(verb.length).replace(/^ /, "");
    if (verb === "connect") {
      const m = /^(?:port\s+(\d+))?\s*$/.exec(rest);
      const port = m?.[1] ? Number(m[1]) : null;
      if (!m || (port !== null && (port < 1 || port > 65535))) {
        r.error(loc, `${where}: expected "connect" or "connect port N", got "${text}"`);
      } else out.push({ kind: "connect", port, loc });
    } else if (verb === "send") {
      out.push({ kind: "send", data: latin1Bytes(rest), loc });
    } else if (verb === "send-binary") {
      if (!/^([0-9a-fA-F]{2})+$/.test(rest)) {
        r.error(loc, `${where}: send-binary expects hexadecimal digits, got "${rest}"`);
      } else out.push({ kind: "send", data: hexBytes(rest), loc });
    } else if (verb === "expect") {
      const m = /^(?:min-recv\s+(-?\d+)\s+)?(!\s+)?(string|binary|rstring|rbinary)\s(.+)$/s.exec(
        rest,
      );
      if (!m) {
        r.error(
          loc,
          `${where}: expected "expect [min-recv N] [!] string|binary|rstring|rbinary PATTERN", got "${text}"`,
        );
        continue;
      }
      const match = m[3] as "string" | "binary" | "rstring" | "rbinary";
      const pattern = m[4];
      if (match === "binary" && !/^([0-9a-fA-F]{2})+$/.test(pattern)) {
        r.error(loc, `${where}: expect binary needs hexadecimal digits, got "${pattern}"`);
        continue;
      }
      if (match === "rstring" || match === "rbinary") {
        try {
          new RegExp(pattern);
        } catch (err) {
          r.error(
            loc,
            `${where}: invalid regular expression "${pattern}": ${(err as Error).message}`,
          );
          continue;
        }
      }
      out.push({
        kind: "expect",
        match,
        pattern,
        negate: m[2] !== undefined,
        ...(m[1] !== undefined ? { minRecv: Number(m[1]) } : {}),
        loc,
      });
    } else {
      r.error(loc, `${where}: unknown rule "${verb}" (connect, send, send-binary or expect)`);
    }
  }
  return out;
}

function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 0xff);
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `http-check.send: { method, uri, version, headers: { NAME: VALUE }, body }`. */
export function httpCheckSend(
  r: Reader,
  e: SrcEntry,
  path: string,
): Partial<HttpCheck> | undefined {
  const m = r.map(e.value, path);
  if (!m) return undefined;
  const f = r.fields(m, ["method", "uri", "version", "headers", "body"], path, `${path}.`);
  const out: Partial<HttpCheck> = {};
  const method = r.str(f.get("method"), `${path}.method`);
  if (method !== undefined) out.method = method;
  const uri = r.str(f.get("uri"), `${path}.uri`);
  if (uri !== undefined) out.uri = uri;
  const version = r.str(f.get("version"), `${path}.version`);
  if (version !== undefined) out.version = version;
  const body = r.str(f.get("body"), `${path}.body`);
  if (body !== undefined) out.body = body;
  const he = f.get("headers");
  const hm = he ? r.map(he.value, `${path}.headers`) : null;
  if (hm) {
    out.headers = [];
    for (const h of hm.entries) {
      const v = r.str(h, `${path}.headers.${h.key}`);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.key)) {
        r.error(h.keyLoc, `${path}.headers: "${h.key}" is not a valid header name`);
      } else if (v !== undefined) out.headers.push([h.key, v]);
    }
  }
  return out;
}
