// Configuration model objects built by hand (no parser needed), for every room's tests and for
// the scripts. Each builder takes the fields a caller wants different as its last argument.
import type {
  BackendConfig,
  Bind,
  Config,
  Facility,
  FrontendConfig,
  Level,
  Loc,
  LogTarget,
  ProxyOptions,
  ProxySettings,
  ServerConfig,
  Timeouts,
} from "../../src/config/model.ts";
import { BUILTIN_SERVER, builtinGlobal, builtinSettings } from "../../src/config/defaults.ts";

export const loc: Loc = { file: "test.yaml", line: 1, col: 1 };

/** What a test changes in a proxy's settings. */
export interface SettingsPatch {
  mode?: "http" | "tcp";
  options?: Partial<ProxyOptions>;
  timeouts?: Partial<Timeouts>;
  retries?: number;
  maxconn?: number;
  log?: LogTarget[];
}

function patched(base: ProxySettings, o: SettingsPatch): ProxySettings {
  return {
    mode: o.mode ?? base.mode,
    options: { ...base.options, ...o.options },
    retries: o.retries ?? base.retries,
    maxconn: o.maxconn ?? base.maxconn,
    timeouts: { ...base.timeouts, ...o.timeouts },
    log: o.log ?? base.log,
  };
}

/**
 * The recipe's `defaults` (seed/affinity.cfg): http-server-close, http-pretend-keepalive,
 * redispatch, retries 3, maxconn 2000, timeouts connect 5 s, client and server 50 s.
 */
export function settings(o: SettingsPatch = {}): ProxySettings {
  return patched(
    bareSettings({
      options: { httpServerClose: true, httpPretendKeepalive: true, redispatch: true },
      retries: 3,
      maxconn: 2000,
      timeouts: { connect: 5000, client: 50000, server: 50000 },
    }),
    o,
  );
}

/** A proxy's settings when no `defaults` section says anything (HAProxy's built-in values). */
export function bareSettings(o: SettingsPatch = {}): ProxySettings {
  return patched(builtinSettings(), o);
}

/** `server NAME 127.0.0.1:PORT` with the built-in values (no check). */
export function server(
  name: string,
  port: number,
  extra: Partial<ServerConfig> = {},
): ServerConfig {
  return {
    name,
    address: { host: "127.0.0.1", port, wildcard: false, family: "ipv4" },
    addressText: `127.0.0.1:${port}`,
    ...BUILTIN_SERVER,
    track: null,
    fastinter: BUILTIN_SERVER.inter,
    downinter: BUILTIN_SERVER.inter,
    prefix: null,
    loc,
    ...extra,
  };
}

/** A roundrobin backend with the recipe's settings. */
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

/** `log 127.0.0.1:PORT FACILITY [LEVEL]`: a UDP syslog target in HAProxy's format. */
export function udpTarget(
  port: number,
  facility: Facility,
  level: Level = "debug",
  extra: Partial<LogTarget> = {},
): LogTarget {
  return {
    kind: "udp",
    text: `127.0.0.1:${port} ${facility}${level === "debug" ? "" : " " + level}`,
    host: "127.0.0.1",
    port,
    path: null,
    facility,
    level,
    minLevel: "emerg",
    format: "rfc3164",
    loc,
    ...extra,
  };
}

/** `bind 127.0.0.1:PORT` (0: an ephemeral port). */
export function bind(port = 0, at: Loc = loc): Bind {
  return {
    host: "127.0.0.1",
    port,
    wildcard: false,
    family: "ipv4",
    text: `127.0.0.1:${port}`,
    loc: at,
  };
}

/**
 * Frontend `fe` from `acl` lines (name -> text, in order; line i+1, col 10) and `use_backend`
 * rules (line 100+i, col 20), with no bind.
 */
export function frontend(
  acls: [string, string][],
  rules: [string, "if" | "unless", string][],
  defaultBackend: string | null,
  extra: Partial<FrontendConfig> = {},
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
    ...extra,
  };
}

export function config(
  frontends: FrontendConfig[],
  backends: BackendConfig[],
  extra: Partial<Config> = {},
): Config {
  return {
    file: "test.yaml",
    format: "yaml",
    global: builtinGlobal(),
    frontends,
    backends,
    admin: null,
    warnings: [],
    ...extra,
  };
}

/**
 * The Wt recipe (seed/affinity.cfg, config.example.yaml): frontend `fe` sends wt1 sessions to
 * bck1 while nbsrv(bck1) > 0, wt2 to bck2, else bck_lb, whose servers track bck1/srv1 and
 * bck2/srv2. `checked` is added to the two checked servers.
 */
export function recipeConfig(
  port1 = 9090,
  port2 = 9091,
  checked: Partial<ServerConfig> = {},
): Config {
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
      backend("bck1", [server("srv1", port1, { check: true, prefix: "wt1", ...checked })]),
      backend("bck2", [server("srv2", port2, { check: true, prefix: "wt2", ...checked })]),
    ],
  );
}
