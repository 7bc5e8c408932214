// Everything the request path needs, computed once per configuration (load and reload):
// routers, balancers, timeouts, connection modes, the forwarded-header plans of every
// frontend x backend pair, and the maxconn gates.

import { renderMetrics } from "../admin/metrics.ts";
import type { ConnSettings } from "../downstream/server.ts";
import type {
  BackendConfig,
  Config,
  ForwardForOption,
  FrontendConfig,
  Millis,
  OriginalToOption,
} from "../config/model.ts";
import { compileRouter } from "../acl/compile.ts";
import type { RouteContext, Router } from "../acl/router.ts";
import { ConfigError, type Diagnostic } from "../config/model.ts";
import { compileProxyRules, type ProxyRules } from "../rules/proxy.ts";
import { createBalancer } from "../balance/create.ts";
import type { Balancer } from "../balance/balancer.ts";
import { compileUseServerTests, type UseServer, useServerOf } from "../balance/use_server.ts";
import type { SessionLookup } from "../session/observer.ts";
import { type Network, parseNetwork } from "../acl/ip.ts";
import type { BackendState, FrontendState, StateStore } from "../state.ts";
import { Gate } from "./gate.ts";
import { CookiePersistence } from "../persist/cookie.ts";
import { compileStats, type StatsHandler } from "../admin/listen.ts";

/** How one frontend x backend pair decorates a request (X-Forwarded-For, X-Original-To, mode). */
export interface HeaderPlan {
  /** One server connection per request (http-server-close / httpclose on either side). */
  closeMode: boolean;
  /** The client connection closes after the response too (httpclose on either side). */
  clientClose: boolean;
  /** Line(s) announcing the connection mode to the server ("connection: close\r\n" or ""). */
  connectionLine: string;
  xff: { name: string; except: Network[]; ifNone: boolean } | null;
  xot: { name: string; except: Network[] } | null;
}

export interface BackendRt {
  config: BackendConfig;
  state: BackendState;
  balancer: Balancer;
  retries: number;
  redispatch: boolean;
  connectTimeout: Millis | null;
  serverTimeout: Millis | null;
  tunnelTimeout: Millis | null;
  /** Cookie persistence (`cookie NAME ...`), null when the backend has none. */
  cookie: CookiePersistence | null;
  /** `use-server` rules (before the cookie and the balancer), null when none. */
  useServer: UseServer | null;
  rules: ProxyRules;
  /** `stats ...`: the stats page for requests routed here, null when off. */
  stats: StatsHandler | null;
}

export interface FrontendRt {
  config: FrontendConfig;
  state: FrontendState;
  router: Router;
  /** http-request / http-response rules (null lists: none). */
  rules: ProxyRules;
  /** What fetches in conditions and rule values ask of the running proxy. */
  ctx: RouteContext;
  gate: Gate;
  clientTimeout: Millis | null;
  /** The client connection's timeouts, as the server reads them at each request. */
  connSettings: ConnSettings;
  plans: Map<string, HeaderPlan>;
  /** `stats ...` in the frontend (or its listen): the stats page, null when off. */
  stats: StatsHandler | null;
}

export interface Snapshot {
  config: Config;
  /** The Wt session parameter when `wt-sessions` is on (requests carrying it are observed). */
  wtParam: string | null;
  frontends: Map<string, FrontendRt>;
  backends: Map<string, BackendRt>;
  globalGate: Gate;
}

function nets(except: string | null): Network[] {
  if (!except) return [];
  const n = parseNetwork(except);
  return n ? [n] : [];
}

function xffPlan(
  fe: ForwardForOption | null,
  be: ForwardForOption | null,
): HeaderPlan["xff"] {
  if (!fe && !be) return null;
  const sides = [fe, be].filter((s): s is ForwardForOption => s !== null);
  return {
    // The backend's name wins; sent lower-cased like HAProxy 2.x (finding 9).
    name: (be ?? fe)!.header.toLowerCase(),
    except: sides.flatMap((s) => nets(s.except)),
    // Adding is mandatory when a side that has the option lacks if-none.
    ifNone: sides.every((s) => s.ifNone),
  };
}

function xotPlan(fe: OriginalToOption | null, be: OriginalToOption | null): HeaderPlan["xot"] {
  if (!fe && !be) return null;
  const sides = [fe, be].filter((s): s is OriginalToOption => s !== null);
  return { name: (be ?? fe)!.header.toLowerCase(), except: sides.flatMap((s) => nets(s.except)) };
}

export function headerPlan(fe: FrontendConfig, be: BackendConfig): HeaderPlan {
  const fo = fe.settings.options;
  const bo = be.settings.options;
  const closeMode = fo.httpServerClose || bo.httpServerClose || fo.httpclose || bo.httpclose;
  // pretend-keepalive is a backend option: the server is not told about the close.
  const connectionLine = closeMode && !bo.httpPretendKeepalive ? "connection: close\r\n" : "";
  return {
    closeMode,
    clientClose: fo.httpclose || bo.httpclose,
    connectionLine,
    xff: xffPlan(fo.forwardfor, bo.forwardfor),
    xot: xotPlan(fo.originalto, bo.originalto),
  };
}

/** A backend's use-server rules; throws ConfigError when one is wrong (`-c` reports them first). */
function useServerRt(b: BackendConfig, balancer: Balancer): UseServer | null {
  const out: Diagnostic[] = [];
  const tests = compileUseServerTests(b, {}, out);
  if (tests === null) throw new ConfigError(out.filter((d) => d.severity === "error"));
  return useServerOf(tests, balancer.servers);
}

/** A proxy's compiled rules; throws ConfigError when one is wrong (`-c` reports them first). */
function rulesOf(p: FrontendConfig | BackendConfig): ProxyRules {
  const out: Diagnostic[] = [];
  const r = compileProxyRules(p, {}, out);
  if (r.failed) throw new ConfigError(out.filter((d) => d.severity === "error"));
  return { request: r.request, response: r.response };
}

/**
 * Builds the snapshot. `store.sync(config)` must have run. Reuses the gates of `previous`
 * (same frontend names) so requests waiting for a slot survive a reload.
 */
export function compileSnapshot(
  config: Config,
  store: StateStore,
  previous?: Snapshot,
  sessions: SessionLookup | null = null,
): Snapshot {
  const backends = new Map<string, BackendRt>();
  for (const b of config.backends) {
    const t = b.settings.timeouts;
    const balancer = createBalancer(b, store, sessions);
    backends.set(b.name, {
      config: b,
      state: store.backends.get(b.name)!,
      balancer,
      retries: Math.max(0, b.settings.retries),
      redispatch: b.settings.options.redispatch,
      connectTimeout: t.connect,
      serverTimeout: t.server,
      tunnelTimeout: t.tunnel,
      cookie: b.cookie ? new CookiePersistence(b.cookie, balancer.servers) : null,
      useServer: useServerRt(b, balancer),
      rules: rulesOf(b),
      stats: b.stats ? compileStats(b.stats) : null,
    });
  }
  const ctx = {
    nbsrv: (name: string) => {
      const be = backends.get(name);
      return be ? store.nbsrv(be.config) : 0;
    },
    metrics: () => renderMetrics({ config, state: store }),
  };
  const backendNames = new Set(backends.keys());
  const frontends = new Map<string, FrontendRt>();
  for (const f of config.frontends) {
    const plans = new Map<string, HeaderPlan>();
    for (const b of config.backends) plans.set(b.name, headerPlan(f, b));
    const limit = f.settings.maxconn > 0 ? f.settings.maxconn : config.global.maxconn;
    const gate = previous?.frontends.get(f.name)?.gate ?? new Gate(limit);
    gate.bind(...store.gateCell(f.name));
    gate.setLimit(limit);
    frontends.set(f.name, {
      config: f,
      state: store.frontends.get(f.name)!,
      router: compileRouter(f, ctx, { backendNames }),
      rules: rulesOf(f),
      ctx,
      gate,
      clientTimeout: f.settings.timeouts.client,
      connSettings: {
        clientTimeout: f.settings.timeouts.client,
        httpRequestTimeout: f.settings.timeouts.httpRequest,
        keepAliveTimeout: f.settings.timeouts.httpKeepAlive,
      },
      plans,
      stats: f.stats ? compileStats(f.stats) : null,
    });
  }
  const globalGate = previous?.globalGate ?? new Gate(config.global.maxconn);
  globalGate.bind(...store.gateCell(null));
  globalGate.setLimit(config.global.maxconn);
  return {
    config,
    wtParam: config.global.wtSessions?.param ?? null,
    frontends,
    backends,
    globalGate,
  };
}
