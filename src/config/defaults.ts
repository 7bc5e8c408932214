// HAProxy's values where a configuration says nothing. One place for the builder (build.ts),
// which fills them in, and the .cfg parser (haproxy.ts), which writes them out to undo a
// `defaults` setting in a proxy whose own `defaults` section lacks it.
import type {
  GlobalSection,
  ProxyOptions,
  ProxySettings,
  ServerConfig,
  Timeouts,
} from "./model.ts";

/** Every option off. */
export const BUILTIN_OPTIONS: Readonly<ProxyOptions> = {
  httplog: false,
  dontlognull: false,
  allbackups: false,
  httpServerClose: false,
  httpPretendKeepalive: false,
  httpKeepAlive: false,
  httpclose: false,
  forwardfor: null,
  originalto: null,
  redispatch: false,
  httpchk: null,
  tcplog: false,
  tcpCheck: null,
};

/** Every timeout unset (infinite). */
export const NO_TIMEOUTS: Readonly<Timeouts> = {
  connect: null,
  client: null,
  server: null,
  tunnel: null,
  httpRequest: null,
  httpKeepAlive: null,
  check: null,
  queue: null,
  clientFin: null,
  serverFin: null,
};

export const BUILTIN_RETRIES = 3;
/** A proxy's maxconn: 0 = the global maxconn. */
export const BUILTIN_MAXCONN = 0;
/** Health-check interval in ms; `fastinter` and `downinter` default to `inter`. */
export const BUILTIN_INTER = 2000;

/** Server keys when neither the server nor any default-server says otherwise. */
export const BUILTIN_SERVER: Readonly<
  Pick<
    ServerConfig,
    "check" | "weight" | "backup" | "inter" | "rise" | "fall" | "maxconn" | "disabled"
  >
> = {
  check: false,
  weight: 1,
  backup: false,
  inter: BUILTIN_INTER,
  rise: 2,
  fall: 3,
  maxconn: 0,
  disabled: false,
};

/** The global section when the file has none. */
export function builtinGlobal(): GlobalSection {
  return { maxconn: 4096, log: [], logTag: "wtproxy", wtSessions: null };
}

/** The settings of a proxy when neither it nor a `defaults` section says anything. */
export function builtinSettings(): ProxySettings {
  return {
    mode: "http",
    options: { ...BUILTIN_OPTIONS },
    retries: BUILTIN_RETRIES,
    maxconn: BUILTIN_MAXCONN,
    timeouts: { ...NO_TIMEOUTS },
    log: [],
  };
}
