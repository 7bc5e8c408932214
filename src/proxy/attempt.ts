// The attempt loop: pick a server, connect (timeout connect), and on a failure where nothing
// was sent retry (`retries N` = N+1 attempts), pausing min(timeout connect, 1 s) before trying
// the same server again after a refusal (none after a connect timeout, none when moving to
// another server). `option redispatch` sends the retry to another usable server. A refused or
// timed-out connect marks the server DOWN at once (passive marking, src/health/machine.ts).
// When the backend has no usable server left, the frontend's rules are evaluated again and the
// request goes where they now point (re-route, at most twice) instead of a 503.

import type { ServerConfig } from "../config/model.ts";
import { reportConnectFailure } from "../health/machine.ts";
import { type DiscoveredAddress, poolKey } from "../discovery/sink.ts";
import type { ServerRef } from "../balance/selector.ts";
import type { RequestLog } from "../log/record.ts";
import type { StateStore } from "../state.ts";
import {
  type Connector,
  connectWithTimeout,
  type ServerAddress,
  UpstreamConn,
} from "../upstream/conn.ts";
import { UpstreamError } from "../upstream/errors.ts";
import type { Pool } from "../upstream/pool.ts";
import { sleep } from "../net/watchdog.ts";
import type { BackendRt, FrontendRt, Snapshot } from "./compile.ts";
import type { RequestInfo } from "./request.ts";
import type { CookieRequest } from "../persist/cookie.ts";

/** A request that cannot be forwarded: answered with `status`, logged with `termination`. */
export class ProxyFailure extends Error {
  constructor(readonly status: number, readonly termination: string, message = "") {
    super(message || `${status} ${termination}`);
    this.name = "ProxyFailure";
  }
}

/** The client went away while we were connecting or waiting (logged C?--, nothing to send). */
export class ClientGone extends Error {
  constructor() {
    super("client gone");
    this.name = "ClientGone";
  }
}

export interface AttemptDeps {
  snapshot: Snapshot;
  store: StateStore;
  pool: Pool;
  connector: Connector;
}

export interface Connected {
  uc: UpstreamConn;
  backend: BackendRt;
  server: ServerRef;
  /** Taken from the keep-alive pool (no connect happened). */
  pooled: boolean;
  /** Cookie persistence of the backend: what the request said, and whether it was followed. */
  cookie: { req: CookieRequest; direct: boolean } | null;
}

/** The server named before any balancing: by a `use-server` rule, else by a valid cookie. */
function directOf(
  be: BackendRt,
  fe: FrontendRt,
  info: RequestInfo,
  ck: CookieRequest | null,
): ServerRef | undefined {
  return be.useServer?.(info, fe.ctx) ?? ck?.server ?? undefined;
}

/** The request's persistence cookie for `be` (null when the backend has none). */
function readCookie(be: BackendRt, info: RequestInfo): CookieRequest | null {
  return be.cookie
    ? be.cookie.request(info.headers.get("cookie"), Math.floor(Date.now() / 1000))
    : null;
}

function cookieOf(ck: CookieRequest | null, srv: ServerRef): Connected["cookie"] {
  return ck ? { req: ck, direct: ck.server === srv } : null;
}

interface AddrInfo {
  addr: ServerAddress;
  /** Pool key: server identity plus address, so a reload that moves a server never reuses. */
  key: string;
}
const addrCache = new WeakMap<ServerConfig, AddrInfo>();
const dnsCache = new WeakMap<DiscoveredAddress, AddrInfo>();

/** Where a server is reached: its DNS-discovered address when it has one, else its own. */
export function serverAddr(ref: ServerRef): AddrInfo {
  const dns = ref.state.dns;
  if (dns) {
    let d = dnsCache.get(dns);
    if (!d) {
      d = { addr: { hostname: dns.host, port: dns.port }, key: poolKey(ref.state.key, dns) };
      dnsCache.set(dns, d);
    }
    return d;
  }
  let a = addrCache.get(ref.config);
  if (!a) {
    const { host, port } = ref.config.address;
    a = { addr: { hostname: host, port }, key: `${ref.state.key}@${host}:${port}` };
    addrCache.set(ref.config, a);
  }
  return a;
}

function reasonOf(err: UpstreamError): string {
  if (err.kind === "connect-refused") return "Connection refused";
  if (err.kind === "connect-timeout") return "Connection timed out";
  return err.message;
}

export interface AttemptOptions {
  /** May this backend's request use a pooled connection? */
  usePool(be: BackendRt): boolean;
  /** The client went away (checked before `signal`, which may be made on demand). */
  gone?(): boolean;
  /** Aborted when the client goes away: read only when waiting (a retry pause, a connect). */
  signal?: AbortSignal;
  /** Cancels a connect when the client goes away, in place of `signal` (see ConnectAbort). */
  connectAbort?: (cancel: (() => void) | null) => void;
}

/**
 * Connects `info` to a server of `backendName`, filling rec.backend/server/tw/tc/retries/
 * redispatched and the retry counters. Throws (or rejects with) ProxyFailure (503 SC--/sC--)
 * or ClientGone. When the first pick has an idle pooled connection the answer is given at once,
 * not as a promise (the keep-alive hot path saves an async round trip).
 */
export function connectAttempts(
  deps: AttemptDeps,
  fe: FrontendRt,
  info: RequestInfo,
  rec: RequestLog,
  backendName: string,
  opts: AttemptOptions,
): Connected | Promise<Connected> {
  const be = deps.snapshot.backends.get(backendName);
  if (!be) return Promise.reject(new ProxyFailure(503, "SC--", `no backend ${backendName}`));
  rec.backend = be.config.name;
  // A use-server rule, else a valid persistence cookie, names the server before any balancing.
  const ck = readCookie(be, info);
  const first = directOf(be, fe, info, ck) ?? be.balancer.pick(info, undefined);
  if (first && !gone(opts) && opts.usePool(be)) {
    const uc = deps.pool.take(serverAddr(first).key);
    if (uc) {
      rec.server = first.config.name;
      rec.tw = 0;
      rec.tc = 0;
      return { uc, backend: be, server: first, pooled: true, cookie: cookieOf(ck, first) };
    }
  }
  return connectLoop(deps, fe, info, rec, be, opts, first, ck);
}

function gone(opts: AttemptOptions): boolean {
  return opts.gone ? opts.gone() : opts.signal?.aborted === true;
}

/** The attempt loop proper; `first` is the balancer's first pick (already made). */
async function connectLoop(
  deps: AttemptDeps,
  fe: FrontendRt,
  info: RequestInfo,
  rec: RequestLog,
  backend: BackendRt,
  opts: AttemptOptions,
  first: ServerRef | undefined,
  cookie: CookieRequest | null,
): Promise<Connected> {
  let ck = cookie;
  let be = backend;
  let firstPick = true;
  let attemptsLeft = be.retries + 1;
  let exclude: Set<string> | null = null;
  let last: ServerRef | null = null;
  let lastErr: UpstreamError | null = null;
  let reroutes = 0;
  let tw = 0;
  let attempted = false;
  for (;;) {
    let srv: ServerRef | undefined;
    if (firstPick) {
      firstPick = false;
      srv = first;
    } else if (last && !be.redispatch) srv = last; // without redispatch a retry sticks to it
    else {
      // Re-routed to another backend: its use-server rules and cookie come first.
      if (last === null) srv = directOf(be, fe, info, ck);
      srv ??= be.balancer.pick(info, exclude ?? undefined);
      // Only already-failed servers remain, but they are still usable: try one again.
      if (!srv && exclude) srv = be.balancer.pick(info);
    }
    if (!srv) {
      if (attempted && reroutes < 2) {
        const next = fe.router.route(info);
        const nextBe = next ? deps.snapshot.backends.get(next) : undefined;
        if (nextBe && nextBe !== be) {
          reroutes++;
          be = nextBe;
          ck = readCookie(be, info);
          rec.backend = be.config.name;
          attemptsLeft = be.retries + 1;
          exclude = null;
          last = null;
          continue;
        }
      }
      rec.server = null;
      rec.tw = attempted ? Math.round(tw) : -1;
      rec.tc = -1;
      throw new ProxyFailure(503, lastErr?.kind === "connect-timeout" ? "sC--" : "SC--");
    }
    if (last) {
      if (srv !== last) {
        rec.redispatched = true;
        be.state.counters.redispatches++;
        last.state.counters.redispatches++;
      } else if (lastErr && lastErr.kind !== "connect-timeout") {
        const pause = Math.min(be.connectTimeout ?? 1000, 1000);
        const t = performance.now();
        await sleep(pause, opts.signal);
        tw += performance.now() - t;
      }
    }
    if (gone(opts)) throw new ClientGone();
    last = srv;
    rec.server = srv.config.name;
    const { addr, key } = serverAddr(srv);
    if (opts.usePool(be)) {
      const uc = deps.pool.take(key);
      if (uc) {
        rec.tw = Math.round(tw);
        rec.tc = 0;
        return { uc, backend: be, server: srv, pooled: true, cookie: cookieOf(ck, srv) };
      }
    }
    const t = performance.now();
    try {
      const conn = await connectWithTimeout(
        addr,
        be.connectTimeout,
        deps.connector,
        opts.connectAbort ?? opts.signal,
      );
      rec.tw = Math.round(tw);
      rec.tc = Math.round(performance.now() - t);
      return {
        uc: new UpstreamConn(conn, key),
        backend: be,
        server: srv,
        pooled: false,
        cookie: cookieOf(ck, srv),
      };
    } catch (err) {
      if (gone(opts)) throw new ClientGone();
      const e = err instanceof UpstreamError
        ? err
        : new UpstreamError("connect-error", String(err));
      lastErr = e;
      attempted = true;
      srv.state.counters.connectErrors++;
      be.state.counters.connectErrors++;
      (deps.store.connectFailure ?? reportConnectFailure)(deps.store, srv.state, reasonOf(e));
      if (--attemptsLeft <= 0) {
        rec.tw = Math.round(tw);
        rec.tc = -1;
        throw new ProxyFailure(503, e.kind === "connect-timeout" ? "sC--" : "SC--");
      }
      rec.retries++;
      be.state.counters.retries++;
      srv.state.counters.retries++;
      if (be.redispatch) (exclude ??= new Set()).add(srv.state.key);
    }
  }
}
