// What the WebSocket room gets from the forwarding core: a connect() to the backend the upgrade
// request was routed to (before its http-request rules ran), running the attempt loop (timeout connect, retries, redispatch, passive marking,
// re-route) and hands back a connected socket to the chosen server, plus the forwarded header
// lines, the http-response rules, the timeouts, the partly filled RequestLog and the counters.

import { firstUrlParam } from "../acl/fetches/url.ts";
import type { RequestLog } from "../log/record.ts";
import type { Counters } from "../state.ts";
import type { WsConnectError, WsDeps, WsUpstream } from "../ws/proxy.ts";
import { ClientGone, connectAttempts, ProxyFailure } from "./attempt.ts";
import type { FrontendRt } from "./compile.ts";
import type { ProxyCore } from "./forward.ts";
import { cookieEdited, forwardedLines } from "./headers.ts";
import type { RequestInfo } from "./request.ts";
import { responseRules } from "./rules.ts";

function connectError(status: number, termination: string): WsConnectError {
  const e = new Error(`${status} ${termination}`) as WsConnectError;
  e.status = status;
  e.termination = termination;
  return e;
}

/**
 * The once-only release of a tunnel's server connection. Built apart from wsDeps() so that
 * the closure (kept for the tunnel's whole life) does not keep wsDeps()'s scope (the
 * RequestInfo with the request's headers).
 */
function serverRelease(beC: Counters, srvC: Counters, release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    beC.close();
    srvC.close();
    release();
  };
}

/** The tunnel's Wt session events (its server answered, opened, closed), when observed. */
function sessionObserve(
  core: ProxyCore,
  server: string,
  info: RequestInfo,
): WsUpstream["observe"] {
  const param = core.snapshot.wtParam;
  const obs = core.sessions;
  if (param === null || obs === null) return undefined;
  const id = firstUrlParam(info.query, param);
  if (!id) return undefined;
  return (event) => {
    if (event === "answered") obs.answered(server, id);
    else if (event === "opened") obs.wsOpened(server, id);
    else obs.wsClosed(server, id);
  };
}

/**
 * Builds WsDeps for one upgrade request. `release` frees the request's maxconn slot; it is
 * called when the server connection is released (tunnel over or answer relayed). When
 * connect() never succeeded, `connected()` is false and the caller frees the slot itself.
 */
export function wsDeps(
  core: ProxyCore,
  fe: FrontendRt,
  info: RequestInfo,
  rec: RequestLog,
  release: () => void,
  backendName: string | null,
): { deps: WsDeps; connected(): boolean } {
  let connected = false;
  const feC = fe.state.counters;
  // Timeouts and forwarded lines depend on the backend; filled by connect() before use.
  const timeouts: WsDeps["timeouts"] = {
    tunnel: null,
    client: fe.clientTimeout,
    server: null,
    connect: null,
  };
  const extraHeaders: [string, string][] = [];
  const deps: WsDeps = {
    extraHeaders,
    errorPage: (status) =>
      core.snapshot.backends.get(rec.backend)?.config.errorPages?.[status] ??
        fe.config.errorPages?.[status],
    timeouts,
    log: rec,
    logger: core.logger,
    signal: core.shutdown,
    async connect(): Promise<WsUpstream> {
      // Routed once, before the backend's http-request rules ran (forwardRequest).
      if (backendName === null || !core.snapshot.backends.has(backendName)) {
        rec.tw = -1;
        rec.tc = -1;
        throw connectError(503, "SC--");
      }
      let c;
      try {
        c = await connectAttempts(core, fe, info, rec, backendName, { usePool: () => false });
      } catch (err) {
        if (err instanceof ProxyFailure) throw connectError(err.status, err.termination);
        if (err instanceof ClientGone) throw connectError(503, "CC--");
        throw err;
      }
      connected = true;
      c.uc.setNoDelay(); // a tunnel relays small frames both ways
      const be = c.backend;
      if (c.cookie) {
        rec.persistence = c.cookie.req.flag + "N";
        const ck = be.cookie!;
        if (ck.editsRequest) deps.rewriteLines = (lines) => cookieEdited(lines, ck);
      }
      const resRules = [be.rules.response, fe.rules.response].filter((r) => r !== null);
      if (resRules.length > 0) {
        deps.responseRules = (lines) => {
          for (const rules of resRules) {
            const denied = responseRules(rules, fe.ctx, info, lines);
            if (denied) return denied;
          }
          return null;
        };
      }
      timeouts.tunnel = be.tunnelTimeout;
      timeouts.server = be.serverTimeout;
      timeouts.connect = be.connectTimeout;
      for (const line of forwardedLines(fe.plans.get(be.config.name)!, info)) {
        extraHeaders.push(line);
      }
      const beC = be.state.counters;
      const srvC = c.server.state.counters;
      beC.requests++;
      srvC.requests++;
      rec.beconn = beC.current;
      rec.srvConn = srvC.current;
      beC.open();
      srvC.open();
      return {
        conn: c.uc.conn,
        backend: be.config.name,
        server: c.server.config.name,
        counters: [feC, beC, srvC],
        release: serverRelease(beC, srvC, release),
        observe: sessionObserve(core, c.server.state.key, info),
        // on-marked-down shutdown-sessions: the handshake and the tunnel are cut with the server.
        downSlot: c.server.config.onMarkedDown
          ? core.serverSessions.slot(c.server.state.key)
          : undefined,
      };
    },
  };
  return { deps, connected: () => connected };
}
