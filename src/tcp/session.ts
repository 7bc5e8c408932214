// One `mode tcp` session: the client connection (its maxconn slot already held) is inspected
// when the frontend has `tcp-request` rules, routed by the use_backend rules, connected by the
// shared attempt loop (balancing, timeout connect, retries, redispatch, passive marking), then
// relayed byte for byte (relay.ts) and logged once in HAProxy's tcplog layout.

import { emptyRequestLog, type RequestLog } from "../log/record.ts";
import { ClientGone, connectAttempts, ProxyFailure } from "../proxy/attempt.ts";
import type { FrontendRt } from "../proxy/compile.ts";
import type { RuntimeCore } from "../proxy/frontend.ts";
import type { HeaderLookup, RequestInfo } from "../proxy/request.ts";
import type { ServerState } from "../state.ts";
import { inspect, type Inspected } from "./inspect.ts";
import { TcpTunnel } from "./relay.ts";

const NO_HEADERS: HeaderLookup = {
  get: () => null,
  has: () => false,
  [Symbol.iterator]: () => [][Symbol.iterator](),
};

/** What the ACL and balance rooms see of a TCP session: addresses, and the payload. */
export function tcpInfo(conn: Deno.TcpConn): RequestInfo {
  const r = conn.remoteAddr;
  const l = conn.localAddr;
  return {
    method: "",
    target: "",
    path: "",
    query: null,
    version: "",
    headers: NO_HEADERS,
    srcIp: r.hostname,
    srcPort: r.port,
    dstIp: l.hostname,
    dstPort: l.port,
  };
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

/**
 * Serves one client connection of TCP frontend `feName` until both sides are closed;
 * `release` frees its maxconn slot (called once, when the client socket is closed).
 */
export async function tcpSession(
  core: RuntimeCore,
  feName: string,
  conn: Deno.TcpConn,
  release: () => void,
): Promise<void> {
  const acceptDate = Date.now();
  const fe = core.snapshot.frontends.get(feName);
  if (!fe) {
    closeQuietly(conn);
    release();
    return;
  }
  core.active++;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    core.active--;
    release();
  };
  try {
    await run(core, fe, conn, acceptDate, finish);
  } catch (err) {
    console.error(`wtproxy: tcp session: ${err instanceof Error ? err.stack : err}`);
    closeQuietly(conn);
    finish();
  }
}

async function run(
  core: RuntimeCore,
  fe: FrontendRt,
  conn: Deno.TcpConn,
  acceptDate: number,
  finish: () => void,
): Promise<void> {
  const feC = fe.state.counters;
  feC.requests++;
  const info = tcpInfo(conn);
  const rec = emptyRequestLog(fe.config.name, info.srcIp, info.srcPort, acceptDate);
  rec.actconn = core.store.activeConnections;
  rec.feconn = feC.current;
  const log = (termination: string) => {
    rec.termination = termination;
    rec.ta = Math.max(0, Date.now() - acceptDate);
    try {
      core.logger.request(fe.config.name, rec);
    } catch { /* a logger must not break the proxy */ }
  };
  const fail = (termination: string) => {
    closeQuietly(conn);
    log(termination);
    finish();
  };

  const tr = fe.config.tcpRequest;
  let got: Inspected = { verdict: "accept", bytes: new Uint8Array(0), pending: null, eof: false };
  if (tr && (tr.inspectDelay || tr.content.length > 0)) {
    got = await inspect(conn, fe.router.content ?? [], tr.inspectDelay, info, core.shutdown);
    rec.nullConnection = got.bytes.length === 0;
    if (got.verdict === "reject") return fail("PR--");
    if (got.eof && got.bytes.length === 0) return fail("CR--");
  }

  const backendName = fe.router.route(info);
  if (backendName === null || !core.snapshot.backends.has(backendName)) return fail("SC--");
  let c;
  try {
    c = await connectAttempts(core, fe, info, rec, backendName, {
      usePool: () => false,
      signal: core.shutdown,
    });
  } catch (err) {
    if (err instanceof ProxyFailure) return fail(err.termination);
    if (err instanceof ClientGone) return fail("KC--");
    throw err;
  }
  c.uc.setNoDelay(); // interactive protocols: no Nagle delay
  relay(core, fe, conn, c.uc.conn, c.backend.config.name, c.server.state, rec, got, log, finish);
}

function relay(
  core: RuntimeCore,
  fe: FrontendRt,
  client: Deno.TcpConn,
  server: Deno.TcpConn,
  backendName: string,
  srv: ServerState,
  rec: RequestLog,
  got: Inspected,
  log: (termination: string) => void,
  finish: () => void,
): void {
  const be = core.snapshot.backends.get(backendName)!;
  const beC = be.state.counters;
  const srvC = srv.counters;
  beC.requests++;
  srvC.requests++;
  rec.beconn = beC.current;
  rec.srvConn = srvC.current;
  beC.open();
  srvC.open();
  const counters = [fe.state.counters, beC, srvC];
  const t = be.config.settings.timeouts;
  const f = fe.config.settings.timeouts;
  const key = srv.key;
  // on-marked-down shutdown-sessions: only such servers' sessions are registered.
  const slotted = srv.config.onMarkedDown === "shutdown-sessions";
  const stopper = { abort: () => tunnel.kill("KD--") };
  const tunnel: TcpTunnel = new TcpTunnel({
    client,
    clientBuffered: got.bytes,
    clientPending: got.pending,
    server,
    // HAProxy: client-side timeouts from the frontend, server-side ones from the backend.
    timeouts: {
      client: f.client,
      server: t.server,
      tunnel: t.tunnel,
      clientFin: f.clientFin,
      serverFin: t.serverFin,
    },
    counters,
    onEnd(termination, toClient, fromClient) {
      if (slotted) core.serverSessions.delete(key, tunnel);
      core.inflight.delete(stopper);
      beC.close();
      srvC.close();
      rec.bytesRead = toClient;
      rec.nullConnection = toClient === 0 && fromClient === 0;
      log(termination);
      finish();
    },
  });
  if (!tunnel.closed) {
    if (slotted) core.serverSessions.add(key, tunnel);
    core.inflight.add(stopper);
  }
}
