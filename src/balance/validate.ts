// `wtproxy -c` checks of a backend's `balance` and Wt `affinity` settings.
import type { BackendConfig, Diagnostic, Loc } from "../config/model.ts";
import { selectors } from "./selector.ts";
import { parseAlgorithm } from "./create.ts";

function diag(loc: Loc, severity: "error" | "warning", message: string): Diagnostic {
  return { ...loc, severity, message };
}

/** HAProxy 2.6's algorithms wtproxy does not have, with what they hash. */
const HAPROXY_ONLY: Record<string, string> = {
  hdr: "hashes the value of an HTTP request header",
  hash: "hashes a sample expression",
  "rdp-cookie": "hashes the RDP cookie of each TCP connection",
};

/** `wtSessions`: is the Wt session table on (`global.wt-sessions`)? (undefined: not checked) */
export function validateBalance(
  backend: BackendConfig,
  opts: { wtSessions?: boolean } = {},
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const where = `backend ${backend.name}`;
  const { name, arg } = parseAlgorithm(backend.balance.algorithm || "roundrobin");
  const param = (arg ?? backend.balance.param ?? "").trim();
  const at = backend.balance.loc ?? backend.loc;
  if (!selectors.has(name) && name in HAPROXY_ONLY) {
    out.push(diag(
      at,
      "error",
      `${where}: 'balance ${name}' is an HAProxy 2.6 algorithm (${HAPROXY_ONLY[name]}) that ` +
        `wtproxy does not support (it has: ${[...selectors.keys()].join(", ")})`,
    ));
  } else if (!selectors.has(name)) {
    out.push(diag(
      at,
      "error",
      `${where}: unknown balance algorithm '${name}' (known: ${[...selectors.keys()].join(", ")})`,
    ));
  } else if (name === "url_param" && param === "") {
    out.push(diag(at, "error", `${where}: 'balance url_param' needs a parameter name`));
  } else if (name === "random" && param !== "" && !/^[1-9]\d*$/.test(param)) {
    out.push(diag(at, "error", `${where}: random draws must be a positive integer`));
  } else if (name === "sessions" && opts.wtSessions === false) {
    out.push(diag(
      at,
      "error",
      `${where}: 'balance sessions' counts live Wt sessions: set global.wt-sessions ` +
        `(e.g. { param: wtd, timeout: 600s })`,
    ));
  }

  // Prefixes: a server's prefix that another one starts with makes `url_sub wtd=wt1` style
  // routing ambiguous (wt1 / wt12); the shorthand takes the longest, the recipe the first.
  const withPrefix = backend.servers.filter((s) => s.prefix);
  for (let i = 0; i < withPrefix.length; i++) {
    const a = withPrefix[i];
    if (!/^[A-Za-z0-9._~-]+$/.test(a.prefix!)) {
      out.push(diag(
        a.loc,
        "warning",
        `${where}: server ${a.name}: prefix '${a.prefix}' has characters that are percent-encoded in URLs; use letters and digits`,
      ));
    }
    for (let j = 0; j < withPrefix.length; j++) {
      const b = withPrefix[j];
      if (i === j) continue;
      if (a.prefix === b.prefix && i < j) {
        out.push(diag(
          b.loc,
          "warning",
          `${where}: servers ${a.name} and ${b.name} have the same prefix '${a.prefix}'`,
        ));
      } else if (a.prefix !== b.prefix && b.prefix!.startsWith(a.prefix!)) {
        out.push(diag(
          b.loc,
          "warning",
          `${where}: prefix '${b.prefix}' of ${b.name} starts with prefix '${a.prefix}' of ${a.name}: ` +
            `session ids are ambiguous (a recipe with url_sub wtd=${a.prefix} sends both to ${a.name})`,
        ));
      }
    }
  }
  // Servers with `prefix-from` get their prefix from DNS at run time.
  const fromDns = backend.servers.some((s) => s.dns?.prefixFrom);
  if (backend.affinity && withPrefix.length === 0 && !fromDns) {
    out.push(diag(
      backend.loc,
      "warning",
      `${where}: affinity on '${backend.affinity.urlParam}' but no server has a prefix: every request is balanced`,
    ));
  }
  return out;
}
