// Configurations and requests built by hand for the routing tests (no parser, no sockets).
import type {
  BackendConfig,
  Config,
  FrontendConfig,
  Loc,
  ProxySettings,
  ServerConfig,
} from "../../src/config/model.ts";
import { type RequestInfo, splitTarget } from "../../src/proxy/request.ts";

export const loc: Loc = { file: "test.yaml", line: 1, col: 1 };

export function settings(): ProxySettings {
  return {
    mode: "http",
    options: {
      httplog: false,
      dontlognull: false,
      httpServerClose: true,
      httpPretendKeepalive: true,
      httpKeepAlive: false,
      httpclose: false,
      forwardfor: null,
      originalto: null,
      redispatch: true,
      httpchk: null,
    },
    retries: 3,
    maxconn: 2000,
    timeouts: {
      connect: 5000,
      client: 50000,
      server: 50000,
      tunnel: null,
      httpRequest: null,
      httpKeepAlive: null,
      check: null,
      queue: null,
    },
    log: [],
  };
}

export function server(
  name: string,
  port: number,
  extra: Partial<ServerConfig> = {},
): ServerConfig {
  return {
    name,
    address: { host: "127.0.0.1", port, wildcard: false, family: "ipv4" },
    addressText: `127.0.0.1:${port}`,
    check: false,
    track: null,
    weight: 1,
    backup: false,
    inter: 2000,
    fastinter: 2000,
    downinter: 2000,
    rise: 2,
    fall: 3,
    maxconn: 0,
    disabled: false,
    prefix: null,
    loc,
    ...extra,
  };
}

export function backend(
  name: string,
  servers: ServerConfig[],
  extra: Partial<BackendConfig> = {},
): BackendConfig {
  return {
    name,
    balance: { algorithm: "roundrobin", param: null },
    servers,
    affinity: null,
    settings: settings(),
    loc,
    ...extra,
  };
}

/** A frontend from `acl` lines (name -> text, in order) and `use_backend` rules. */
export function frontend(
  acls: [string, string][],
  rules: [string, "if" | "unless", string][],
  defaultBackend: string | null,
): FrontendConfig {
  return {
    name: "fe",
    binds: [],
    acls: acls.map(([name, text], i) => ({ name, text, loc: { ...loc, line: i + 1, col: 10 } })),
    useBackend: rules.map(([backend, polarity, condition], i) => ({
      backend,
      polarity,
      condition,
      loc: { ...loc, line: 100 + i, col: 20 },
    })),
    defaultBackend,
    settings: settings(),
    loc,
  };
}

export function config(frontends: FrontendConfig[], backends: BackendConfig[]): Config {
  return {
    file: "test.yaml",
    format: "yaml",
    global: { maxconn: 4096, log: [], logTag: "wtproxy" },
    frontends,
    backends,
    admin: null,
    warnings: [],
  };
}

/** The Wt recipe (seed/affinity.cfg, config.example.yaml) built by hand. */
export function recipeConfig(port1 = 9090, port2 = 9091): Config {
  return config(
    [
      frontend(
        [
          ["srv1", "url_sub wtd=wt1"],
          ["srv2", "url_sub wtd=wt2"],
          ["srv1_up", "nbsrv(bck1) gt 0"],
          ["srv2_up", "nbsrv(bck2) gt 0"],
        ],
        [["bck1", "if", "srv1_up srv1"], ["bck2", "if", "srv2_up srv2"]],
        "bck_lb",
      ),
    ],
    [
      backend("bck_lb", [
        server("srv1", port1, { track: { backend: "bck1", server: "srv1" } }),
        server("srv2", port2, { track: { backend: "bck2", server: "srv2" } }),
      ]),
      backend("bck1", [server("srv1", port1, { check: true, prefix: "wt1" })]),
      backend("bck2", [server("srv2", port2, { check: true, prefix: "wt2" })]),
    ],
  );
}

/** The same two Wt servers with the `affinity` shorthand: one backend, no ACLs. */
export function shorthandConfig(port1 = 9090, port2 = 9091): Config {
  return config(
    [frontend([], [], "app")],
    [
      backend("app", [
        server("srv1", port1, { check: true, prefix: "wt1" }),
        server("srv2", port2, { check: true, prefix: "wt2" }),
      ], { affinity: { urlParam: "wtd" } }),
    ],
  );
}

export interface ReqOptions {
  method?: string;
  headers?: Record<string, string> | [string, string][];
  src?: string;
  srcPort?: number;
  dst?: string;
  dstPort?: number;
  version?: string;
}

export function req(target: string, o: ReqOptions = {}): RequestInfo {
  const { path, query } = splitTarget(target);
  return {
    method: o.method ?? "GET",
    target,
    path,
    query,
    version: o.version ?? "HTTP/1.1",
    headers: new Headers(o.headers ?? {}),
    srcIp: o.src ?? "192.0.2.10",
    srcPort: o.srcPort ?? 40000,
    dstIp: o.dst ?? "127.0.0.1",
    dstPort: o.dstPort ?? 8080,
  };
}
