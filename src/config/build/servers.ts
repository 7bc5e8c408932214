// servers and default-server (in defaults and in a backend), track and prefix.
import type { ServerConfig, SrcEntry, SrcMap } from "../model.ts";
import { BUILTIN_INTER, BUILTIN_SERVER } from "../defaults.ts";
import type { Reader } from "./reader.ts";
import { applyRules, SERVER_RULES, withRules } from "./rules.ts";
import { DEFAULT_SERVER_KEYS, SERVER_KEYS } from "./schema.ts";
import { type DnsPatch, dnsPatch, serverDns, templateRange } from "./dns.ts";
import { isSrvName } from "../../discovery/template.ts";

export type ServerPatch =
  & { dns?: DnsPatch }
  & Partial<
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
      | "checkPort"
      | "checkAddr"
      | "onMarkedDown"
    >
  >;

export function defaultServer(r: Reader, e: SrcEntry | undefined, path: string): ServerPatch {
  const m = e ? r.map(e.value, path) : null;
  if (!m) return {};
  return serverPatch(r, r.fields(m, DEFAULT_SERVER_KEYS, path, `${path}.`), path);
}

export function serverPatch(r: Reader, f: Map<string, SrcEntry>, path: string): ServerPatch {
  const p: ServerPatch = {
    check: r.bool(f.get("check"), `${path}.check`),
    weight: r.int(f.get("weight"), `${path}.weight`, 0, 256),
    backup: r.bool(f.get("backup"), `${path}.backup`),
    inter: r.positiveDuration(f.get("inter"), `${path}.inter`),
    fastinter: r.positiveDuration(f.get("fastinter"), `${path}.fastinter`),
    downinter: r.positiveDuration(f.get("downinter"), `${path}.downinter`),
    rise: r.int(f.get("rise"), `${path}.rise`, 1, 1000),
    fall: r.int(f.get("fall"), `${path}.fall`, 1, 1000),
    maxconn: r.int(f.get("maxconn"), `${path}.maxconn`, 0, 1_000_000),
    disabled: r.bool(f.get("disabled"), `${path}.disabled`),
    checkPort: r.int(f.get("port"), `${path}.port`, 1, 65535),
    checkAddr: checkAddr(r, f.get("addr"), `${path}.addr`),
    onMarkedDown: onMarkedDown(r, f.get("on-marked-down"), `${path}.on-marked-down`),
  };
  for (const k of Object.keys(p) as (keyof ServerPatch)[]) if (p[k] === undefined) delete p[k];
  const dns = dnsPatch(r, f, path);
  if (Object.keys(dns).length) p.dns = dns;
  return p;
}

export function readServer(
  r: Reader,
  s: SrcEntry,
  path: string,
  backendServer: ServerPatch,
  defaultsServer: ServerPatch,
): ServerConfig | undefined {
  r.checkName(s, "server");
  let m: SrcMap | null;
  // `srv1: 127.0.0.1:9090` is a short form of `srv1: { address: 127.0.0.1:9090 }`.
  if (s.value.kind === "scalar" && typeof s.value.value === "string") {
    m = {
      kind: "map",
      loc: s.value.loc,
      entries: [{ key: "address", keyLoc: s.value.loc, value: s.value }],
    };
  } else m = r.map(s.value, path);
  if (!m) return undefined;
  const f = r.fields(m, withRules(SERVER_KEYS, SERVER_RULES), `server '${s.key}'`, "");
  const own = serverPatch(r, f, path);
  const addrEntry = f.get("address");
  if (!addrEntry) {
    r.error(s.keyLoc, `${path}: missing "address" (e.g. address: 127.0.0.1:9090)`);
    return undefined;
  }
  // An SRV name (`_wt._tcp.wt.default.svc.cluster.local`) has no port: SRV records give it.
  const srvText = addrEntry.value.kind === "scalar" && typeof addrEntry.value.value === "string" &&
      isSrvName(addrEntry.value.value.trim())
    ? addrEntry.value.value.trim()
    : null;
  const a = srvText !== null
    ? {
      text: srvText,
      address: { host: srvText, port: 0, wildcard: false, family: "name" as const },
    }
    : r.address(addrEntry.value, `${path}.address`, {});
  if (a?.address.wildcard) {
    r.warn(
      addrEntry.value.loc,
      `${path}.address: ${a.text} is a wildcard address; connecting to it reaches this machine (write 127.0.0.1:${a.address.port} to say so)`,
    );
  }
  const eff = { ...BUILTIN_SERVER, ...defaultsServer, ...backendServer, ...own };
  const trackEntry = f.get("track");
  let track: ServerConfig["track"] = null;
  const trackText = r.str(trackEntry, `${path}.track`);
  if (trackText !== undefined) {
    const parts = trackText.split("/");
    if (parts.length > 2 || parts.some((p) => p === "")) {
      r.error(
        trackEntry!.value.loc,
        `${path}.track: expected "backend/server" or "server", got "${trackText}"`,
      );
    } else {
      // `track srv` names a server of the same backend, as in HAProxy.
      const backend = parts.length === 2 ? parts[0] : path.split(".")[1];
      track = { backend, server: parts[parts.length - 1] };
    }
  }
  const prefixText = r.str(f.get("prefix"), `${path}.prefix`);
  if (prefixText !== undefined && /[\s&=?#/]/.test(prefixText)) {
    r.error(
      f.get("prefix")!.value.loc,
      `${path}.prefix: "${prefixText}" cannot be part of a Wt session id (no spaces, &, =, ?, # or /)`,
    );
  }
  const tEntry = f.get("template");
  const range = tEntry ? templateRange(r, tEntry, `${path}.template`) : null;
  const dnsEff = { ...defaultsServer.dns, ...backendServer.dns, ...own.dns };
  const dns = a
    ? serverDns(
      r,
      path,
      dnsEff,
      {
        name: a.address.host,
        isIp: a.address.family !== "name",
        loc: addrEntry.value.loc,
      },
      tEntry ? { count: range ? range.to - range.from + 1 : 1 } : null,
      prefixText !== undefined,
    )
    : null;
  if (dns?.template && range) {
    dns.template = { prefix: s.key, index: range.from, count: dns.template.count };
  }
  // A bad address was reported; the server is kept so that `track` checks do not cascade.
  const inter = eff.inter ?? BUILTIN_INTER;
  return applyRules(r, SERVER_RULES, f, path, {
    name: s.key,
    address: a?.address ?? { host: "", port: 0, wildcard: false, family: "name" },
    addressText: a?.text ?? "",
    check: eff.check,
    track,
    weight: eff.weight,
    backup: eff.backup,
    inter,
    fastinter: eff.fastinter ?? inter,
    downinter: eff.downinter ?? inter,
    rise: eff.rise,
    fall: eff.fall,
    maxconn: eff.maxconn,
    disabled: eff.disabled,
    prefix: prefixText ?? null,
    dns,
    checkPort: eff.checkPort ?? null,
    checkAddr: eff.checkAddr ?? null,
    onMarkedDown: eff.onMarkedDown ?? null,
    loc: s.keyLoc,
  });
}

/** `addr A`: an IP address the checks go to (HAProxy resolves names once; so does this). */
function checkAddr(r: Reader, e: SrcEntry | undefined, path: string): string | undefined {
  const s = r.str(e, path);
  if (s === undefined) return undefined;
  if (!/^[A-Za-z0-9.:_-]+$/.test(s) || s.includes("::") === false && s.split(":").length > 2) {
    r.error(e!.value.loc, `${path}: "${s}" is not an address (write e.g. 10.0.0.5)`);
    return undefined;
  }
  return s;
}

/** `on-marked-down shutdown-sessions` (HAProxy's only action). */
function onMarkedDown(
  r: Reader,
  e: SrcEntry | undefined,
  path: string,
): "shutdown-sessions" | undefined {
  const s = r.str(e, path);
  if (s === undefined) return undefined;
  if (s !== "shutdown-sessions") {
    r.error(e!.value.loc, `${path}: expected "shutdown-sessions", got "${s}"`);
    return undefined;
  }
  return s;
}
