// Checks across sections: backends named by frontends, listeners bound twice, missing
// timeouts, ACLs, balance, track chains.
import type {
  AdminConfig,
  BackendConfig,
  Bind,
  FrontendConfig,
  GlobalSection,
  Loc,
  ServerConfig,
} from "../model.ts";
import { validateFrontendAcls } from "../../acl/validate.ts";
import { validateBalance } from "../../balance/validate.ts";
import type { Reader } from "./reader.ts";
import { suggest } from "./reader.ts";
import { CROSS_RULES } from "./rules.ts";
import { hasSample } from "../../sample/format.ts";

export function crossChecks(
  r: Reader,
  frontends: FrontendConfig[],
  backends: BackendConfig[],
  admin: AdminConfig | null,
  global?: GlobalSection,
): void {
  const byName = new Map(backends.map((b) => [b.name, b]));
  const backendNames = new Set(byName.keys());
  const missing = (name: string, loc: Loc, what: string) => {
    if (backendNames.has(name)) return;
    const near = suggest(name, [...backendNames]);
    r.error(
      loc,
      `unable to find required ${what}: '${name}'${near ? ` (did you mean '${near}'?)` : ""}`,
    );
  };
  const binds: { bind: Bind; owner: string }[] = [];
  for (const f of frontends) {
    for (const rule of f.useBackend) {
      // A dynamic name (`%[...]`) is checked by the ACL room; unknown at run time: default.
      if (!hasSample(rule.backend)) {
        missing(rule.backend, rule.backendLoc ?? rule.loc, "use_backend");
      }
    }
    if (f.defaultBackend !== null) missing(f.defaultBackend, f.loc, "default_backend");
    if (f.defaultBackend === null && f.useBackend.length === 0 && !f.stats) {
      // `redirect scheme https` (http-request rules that answer) is a whole frontend's job
      const answers = (f.httpRequest ?? []).filter((x) =>
        /^\s*(redirect|deny|return|tarpit|use-service)\b/.test(x.text)
      );
      const always = answers.some((x) => !/\s(if|unless)\s/.test(` ${x.text} `));
      if (!always) {
        r.warn(
          f.loc,
          `frontend '${f.name}' has no default_backend and no use_backend: every request ` +
            `${answers.length ? "that no http-request rule answers " : ""}gets 503`,
        );
      }
    }
    const refused = (path: string, t: string) =>
      r.failed.has(`${path}.timeouts.${t}`) || r.failed.has(`defaults.timeouts.${t}`);
    if (f.settings.timeouts.client === null && !refused(`frontends.${f.name}`, "client")) {
      r.warn(
        f.loc,
        `missing timeouts for frontend '${f.name}': client (set timeouts.client here or in defaults; without it an idle client holds its connection forever)`,
      );
    }
    for (const d of validateFrontendAcls(f, backendNames)) r.diagnostics.push(d);
    for (const b of f.binds) binds.push({ bind: b, owner: `frontend '${f.name}'` });
  }
  if (admin) binds.push({ bind: admin.bind, owner: "admin" });
  for (const [i, a] of binds.entries()) {
    const clash = binds.slice(0, i).find((b) =>
      sameListener(a.bind, b.bind) && !(a.owner === b.owner && dualStack(a.bind, b.bind))
    );
    if (clash) {
      r.error(
        a.bind.loc,
        `${a.bind.text} is already bound by ${clash.owner} (line ${clash.bind.loc.line})`,
      );
    }
  }

  for (const b of backends) {
    const missingT = [
      b.settings.timeouts.connect === null ? "connect" : "",
      b.settings.timeouts.server === null ? "server" : "",
    ].filter((t) =>
      t !== "" && !r.failed.has(`backends.${b.name}.timeouts.${t}`) &&
      !r.failed.has(`defaults.timeouts.${t}`)
    );
    if (missingT.length) {
      r.warn(
        b.loc,
        `missing timeouts for backend '${b.name}': ${
          missingT.join(", ")
        } (set them under timeouts here or in defaults; without them a stuck server holds a connection forever)`,
      );
    }
    const wtSessions = global ? Boolean(global.wtSessions) : undefined;
    for (const d of validateBalance(b, { wtSessions })) r.diagnostics.push(d);
    for (const s of b.servers) checkTrack(r, b, s, byName);
  }
  for (const rule of CROSS_RULES) rule(r, frontends, backends, admin);
}

export function checkTrack(
  r: Reader,
  b: BackendConfig,
  s: ServerConfig,
  byName: Map<string, BackendConfig>,
): void {
  if (!s.track) return;
  const loc = s.loc;
  const where = `server ${b.name}/${s.name}`;
  if (s.check) {
    r.error(
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
        r.error(
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
        r.error(
          loc,
          `${where}: unable to find required server '${server}' in backend '${backend}' for tracking${
            near ? ` (did you mean '${near}'?)` : ""
          }`,
        );
      }
      return;
    }
    const key = `${backend}/${server}`;
    // NOLB is mirrored down a track chain: both ends must agree on it (HAProxy refuses too).
    if (cur === s && d404(b) !== d404(tb)) {
      r.error(
        loc,
        `${where}: unable to use ${key} for tracking: disable-on-404 option inconsistency ` +
          `(http-check.disable-on-404 is ${d404(b)} in backend '${b.name}' and ${d404(tb)} in ` +
          `backend '${backend}')`,
      );
      return;
    }
    if (chain.includes(key)) {
      r.error(loc, `${where}: track cycle ${[...chain, key].join(" -> ")}`);
      return;
    }
    chain.push(key);
    if (!ts.track && !ts.check) {
      r.error(
        loc,
        `${where}: tracked server '${key}' does not have any check enabled (add check: true to it)`,
      );
      return;
    }
    cur = ts;
  }
}

/** `http-check disable-on-404` in effect for a backend's checks. */
function d404(b: BackendConfig): boolean {
  return b.settings.options.httpchk?.disableOn404 === true;
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

/** `bind :25` and `bind :::25` in one frontend: HAProxy's dual-stack pair, both listen (the
 * runtime opens each concrete address once). */
function dualStack(a: Bind, b: Bind): boolean {
  return a.port === b.port && a.family !== b.family &&
    (a.family === "any4" || a.family === "any6") && (b.family === "any4" || b.family === "any6");
}
