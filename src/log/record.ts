// One access-log record, filled by the proxy (and ws) rooms as a request moves along, and
// formatted by the log room into HAProxy's httplog layout or JSON.
// Timers follow HAProxy's httplog: -1 = the phase never completed.

import type { RequestInfo } from "../proxy/request.ts";

export interface RequestLog {
  clientIp: string;
  clientPort: number;
  /** Epoch ms of the first byte of this request (accept date). */
  acceptDate: number;
  frontend: string;
  /** Backend name; the frontend name when the request died before switching. */
  backend: string;
  /** Server name, or null for `<NOSRV>`. */
  server: string | null;
  /** TR: time to receive the full request head. */
  tr: number;
  /** Tw: time waiting (queue + retry pauses). */
  tw: number;
  /** Tc: time to connect to the server (incl. retries). */
  tc: number;
  /** Tr: server time to full response headers. */
  tres: number;
  /** Ta: first request byte to last response byte. */
  ta: number;
  /** Status sent to the client (our own 502/503/504/400/408 included). */
  status: number;
  /** Bytes sent to the client, headers included. */
  bytesRead: number;
  /** Four characters, e.g. "----", "SC--", "sH--", "cD--". */
  termination: string;
  /** Cookie persistence flags (request, response: "NI", "VN"...), the termination's last two. */
  persistence?: string;
  actconn: number;
  feconn: number;
  beconn: number;
  srvConn: number;
  /** Connect retries; `redispatched` prefixes it with "+". */
  retries: number;
  redispatched: boolean;
  srvQueue: number;
  backendQueue: number;
  /** "GET /?wtd=wt1abc HTTP/1.1", or null for `<BADREQ>`. */
  requestLine: string | null;
  /** true when the client sent no byte at all (dontlognull skips these). */
  nullConnection?: boolean;
}

/** Where access lines and events go; implemented by the log room (syslog, stdout, JSON). */
export interface AccessLogger {
  /** Called once per finished request or tunnel; must never block or throw. */
  request(frontend: string, rec: RequestLog): void;
}

/** A record with nothing routed, connected or answered yet, and no request line ("<BADREQ>"). */
export function emptyRequestLog(
  frontend: string,
  clientIp: string,
  clientPort: number,
  acceptDate: number,
): RequestLog {
  return {
    clientIp,
    clientPort,
    acceptDate,
    frontend,
    backend: frontend,
    server: null,
    tr: 0,
    tw: -1,
    tc: -1,
    tres: -1,
    ta: 0,
    status: -1,
    bytesRead: 0,
    termination: "----",
    actconn: 0,
    feconn: 0,
    beconn: 0,
    srvConn: 0,
    retries: 0,
    redispatched: false,
    srvQueue: 0,
    backendQueue: 0,
    requestLine: null,
  };
}

/** The record of a request just received: nothing routed, connected or answered yet. */
export function newRequestLog(frontend: string, info: RequestInfo, acceptDate: number): RequestLog {
  const rec = emptyRequestLog(frontend, info.srcIp, info.srcPort, acceptDate);
  rec.requestLine = `${info.method} ${info.target} ${info.version}`;
  return rec;
}
