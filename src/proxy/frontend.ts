// Client-side listeners: one HTTP/1.1 server (src/downstream/) per bind address. A wildcard
// bind (0.0.0.0, *, ::) expands over Deno.networkInterfaces(), one listener per address.

import type { Bind } from "../config/model.ts";
import type { CertSelector } from "../tls/select.ts";
import { type ConnInfo, type HttpServer, startServer } from "../downstream/server.ts";
import type { ClientExchange } from "../downstream/types.ts";
import { emptyRequestLog } from "../log/record.ts";
import type { Counters } from "../state.ts";
import { forwardRequest, type ProxyCore } from "./forward.ts";
import type { Gate } from "./gate.ts";
import { type RequestInfo, splitTarget } from "./request.ts";

export interface RuntimeCore extends ProxyCore {
  /** Requests currently being handled (drain waits for 0). */
  active: number;
}

export interface ListenerHandle {
  /** The frontend served; a reload may hand a kept listener to a renamed frontend. */
  frontend: string;
  /** The bind this listener comes from ("host:port" as configured), for reload diffs. */
  bindKey: string;
  /** bindKey|host: this socket's name in every worker. */
  id: string;
  hostname: string;
  port: number;
  server: HttpServer;
}

/** The concrete local addresses a bind listens on (a wildcard expands to every interface). */
export function bindAddresses(bind: Bind): string[] {
  if (!bind.wildcard) return [bind.host];
  let ifaces: Deno.NetworkInterfaceInfo[];
  try {
    ifaces = Deno.networkInterfaces();
  } catch {
    // No --allow-sys: listen on the wildcard itself (each connection still knows its address).
    return [bind.family === "any6" ? "::" : "0.0.0.0"];
  }
  const out: string[] = [];
  for (const i of ifaces) {
    if (i.family === "IPv4") out.push(i.address);
    else if (bind.family === "any6" && !i.address.toLowerCase().startsWith("fe80:")) {
      out.push(i.address); // link-local addresses need a scope id: not bound
    }
  }
  return [...new Set(out)];
}

const NO_TIMEOUTS = { clientTimeout: null, httpRequestTimeout: null, keepAliveTimeout: null };

/** Starts one server for `frontend` on hostname:port. */
export function startListener(
  core: RuntimeCore,
  frontend: string,
  bindKey: string,
  id: string,
  hostname: string,
  port: number,
  backlog: number,
  reusePort = false,
  tls?: { alpn: string[]; select: CertSelector },
): ListenerHandle {
  let h: ListenerHandle | null = null;
  const feName = () => h?.frontend ?? frontend;
  const server = startServer({
    hostname,
    port,
    backlog,
    reusePort,
    tls,
    settings: () => core.snapshot.frontends.get(feName())?.connSettings ?? NO_TIMEOUTS,
    handler: (ex, conn) => handle(core, feName(), ex, conn),
    admit: () => admit(core, feName()),
    onBadRequest: (bad, conn) => {
      const name = feName();
      const fe = core.snapshot.frontends.get(name);
      if (!fe) return;
      const c = fe.state.counters;
      c.requests++;
      if (bad.status > 0) c.countStatus(bad.status); // a failed TLS handshake has none
      const rec = emptyRequestLog(name, conn.remote.hostname, conn.remote.port, bad.acceptDate);
      rec.tr = -1;
      rec.ta = Math.max(0, Date.now() - bad.acceptDate);
      rec.status = bad.status;
      rec.termination = bad.termination;
      rec.actconn = core.store.activeConnections;
      rec.feconn = c.current;
      rec.nullConnection = bad.empty;
      // bytesRead stays 0: HAProxy logs 0 for its parser's own 400/408.
      try {
        core.logger.request(name, rec);
      } catch { /* a logger must not break the proxy */ }
    },
  });
  h = { frontend, bindKey, id, hostname, port: server.addr.port, server };
  return h;
}

/**
 * maxconn: a slot of the global gate, then of the frontend's, for each client connection (idle
 * kept-alive ones included, as HAProxy counts them); gives the once-only release.
 */
export function admit(core: RuntimeCore, feName: string): (() => void) | Promise<() => void> {
  const snap = core.snapshot;
  const fe = snap.frontends.get(feName);
  const globalGate = snap.globalGate;
  const feGate = fe?.gate ?? null;
  const enter = () => connectionSlot(core, fe?.state.counters ?? null, feGate, globalGate);
  const g = globalGate.acquire();
  if (g === true) {
    const f = feGate === null ? true : feGate.acquire();
    return f === true ? enter() : f.then(enter);
  }
  return (async () => {
    await g;
    const f = feGate === null ? true : feGate.acquire();
    if (f !== true) await f;
    return enter();
  })();
}

/** Counts the connection in and returns its once-only release (kept for a tunnel's life: no
 * other scope captured). */
function connectionSlot(
  core: RuntimeCore,
  feC: Counters | null,
  feGate: Gate | null,
  globalGate: Gate,
): () => void {
  const store = core.store;
  store.countConnection(1);
  feC?.open();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    feC?.close();
    store.countConnection(-1);
    feGate?.release();
    globalGate.release();
  };
}

/** The once-only end of a request (drain waits for requests in progress). */
function requestDone(core: RuntimeCore): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    core.active--;
  };
}

/** What the ACL and balance rooms see of the request. */
export function requestInfo(ex: ClientExchange, conn: ConnInfo): RequestInfo {
  const head = ex.head;
  const target = head.target;
  let path = target;
  let query: string | null = null;
  if (target.charCodeAt(0) !== 47) ({ path, query } = splitTarget(target)); // absolute-form, "*"
  else {
    const q = target.indexOf("?");
    if (q !== -1) {
      path = target.slice(0, q);
      query = target.slice(q + 1);
    }
  }
  return {
    method: head.method,
    target,
    path,
    query,
    version: head.version,
    headers: head.headers,
    srcIp: conn.remote.hostname,
    srcPort: conn.remote.port,
    dstIp: conn.local.hostname,
    dstPort: conn.local.port,
    tls: conn.tls,
  };
}

/** (Not async: the request's promise is forwardRequest's, one suspended frame less.) */
function handle(
  core: RuntimeCore,
  feName: string,
  ex: ClientExchange,
  conn: ConnInfo,
): Promise<void> {
  const snap = core.snapshot;
  const fe = snap.frontends.get(feName);
  if (!fe) return ex.sendError(503);
  const info = requestInfo(ex, conn);
  core.active++;
  return forwardRequest(core, fe, ex, info, requestDone(core));
}
