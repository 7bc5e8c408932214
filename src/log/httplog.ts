// Access-line formatting: HAProxy's httplog layout (H26 §8.2.3), its tcplog layout (used when
// a frontend has no `option httplog`), and a JSON object with the same fields under HAProxy's
// own field names (for log shippers). Pure functions; the caller picks the sink.

import type { RequestLog } from "./record.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function pad3(n: number): string {
  return n < 10 ? "00" + n : n < 100 ? "0" + n : String(n);
}

let dateSecond = NaN;
let datePrefix = "";

/**
 * HAProxy's accept date `dd/Mmm/yyyy:HH:MM:SS.mmm` in local time (process TZ). The part up to
 * the seconds is cached per second, so a busy proxy formats it once a second.
 */
export function formatAcceptDate(epochMs: number): string {
  const sec = Math.floor(epochMs / 1000);
  if (sec !== dateSecond) {
    const d = new Date(sec * 1000);
    datePrefix = `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${
      pad2(d.getHours())
    }:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
    dateSecond = sec;
  }
  return datePrefix + "." + pad3(epochMs - sec * 1000);
}

// HAProxy's url_encode_map (src/log.c init_log): bytes < 0x20, >= 0x7f, '"' and '#' are
// written as '#' + two upper-case hex digits. Spaces stay (the request line has them).
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /[\x00-\x1f"#\x7f-\uffff]/;
const encoder = new TextEncoder();
const HEX = "0123456789ABCDEF";

/** Escapes a logged string the way HAProxy escapes `%r`: see NEEDS_ESCAPE. Pure ASCII out. */
export function escapeLogField(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = "";
  for (const b of encoder.encode(s)) {
    if (b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x23) {
      out += "#" + HEX[b >> 4] + HEX[b & 15];
    } else out += String.fromCharCode(b);
  }
  return out;
}

/** `bck1/srv1`, `+N` retries when redispatched. */
function retriesField(rec: RequestLog): string {
  return rec.redispatched ? "+" + rec.retries : String(rec.retries);
}

/**
 * One httplog line, without the syslog header:
 * `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r`
 * e.g. `127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"`.
 * Captured cookies are always `- -` (no `capture cookie`); no `{headers}` block (no `capture`).
 */
export function formatHttplog(rec: RequestLog): string {
  return rec.clientIp + ":" + rec.clientPort +
    " [" + formatAcceptDate(rec.acceptDate) + "] " +
    rec.frontend + " " + rec.backend + "/" + (rec.server ?? "<NOSRV>") + " " +
    rec.tr + "/" + rec.tw + "/" + rec.tc + "/" + rec.tres + "/" + rec.ta + " " +
    rec.status + " " + rec.bytesRead + " - - " + rec.termination + " " +
    rec.actconn + "/" + rec.feconn + "/" + rec.beconn + "/" + rec.srvConn + "/" +
    retriesField(rec) + " " +
    rec.srvQueue + "/" + rec.backendQueue + " " +
    (rec.requestLine === null ? '"<BADREQ>"' : '"' + escapeLogField(rec.requestLine) + '"');
}

/**
 * HAProxy's tcplog layout, logged by a frontend without `option httplog` (HAProxy would log a
 * "Connect from" line at accept time instead; the tcplog line carries more and existing tools
 * parse it): `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`.
 * Tt is Ta here (the whole transaction); %ts is the first two termination characters.
 */
export function formatTcplog(rec: RequestLog): string {
  return rec.clientIp + ":" + rec.clientPort +
    " [" + formatAcceptDate(rec.acceptDate) + "] " +
    rec.frontend + " " + rec.backend + "/" + (rec.server ?? "<NOSRV>") + " " +
    rec.tw + "/" + rec.tc + "/" + rec.ta + " " +
    rec.bytesRead + " " + rec.termination.slice(0, 2) + " " +
    rec.actconn + "/" + rec.feconn + "/" + rec.beconn + "/" + rec.srvConn + "/" +
    retriesField(rec) + " " +
    rec.srvQueue + "/" + rec.backendQueue;
}

/**
 * The JSON form of an access record: HAProxy's field names (H26 §8.2.3), raw values (numbers
 * stay numbers, `-1` = phase not completed). `server_name` is "<NOSRV>" and `http_request`
 * is "<BADREQ>" exactly where the httplog line shows them; `http_request` is not #XX-escaped
 * (JSON escapes it). `retries` is the number, `redispatched` says whether the `+` applies.
 */
export interface AccessJson {
  type: "access";
  client_ip: string;
  client_port: number;
  /** The httplog text form `dd/Mmm/yyyy:HH:MM:SS.mmm` (local time). */
  accept_date: string;
  /** Epoch milliseconds of the same instant. */
  accept_ts: number;
  frontend_name: string;
  backend_name: string;
  server_name: string;
  TR: number;
  Tw: number;
  Tc: number;
  Tr: number;
  Ta: number;
  status_code: number;
  bytes_read: number;
  captured_request_cookie: string;
  captured_response_cookie: string;
  termination_state: string;
  actconn: number;
  feconn: number;
  beconn: number;
  srv_conn: number;
  retries: number;
  redispatched: boolean;
  srv_queue: number;
  backend_queue: number;
  http_request: string;
}

export function accessJson(rec: RequestLog): AccessJson {
  return {
    type: "access",
    client_ip: rec.clientIp,
    client_port: rec.clientPort,
    accept_date: formatAcceptDate(rec.acceptDate),
    accept_ts: rec.acceptDate,
    frontend_name: rec.frontend,
    backend_name: rec.backend,
    server_name: rec.server ?? "<NOSRV>",
    TR: rec.tr,
    Tw: rec.tw,
    Tc: rec.tc,
    Tr: rec.tres,
    Ta: rec.ta,
    status_code: rec.status,
    bytes_read: rec.bytesRead,
    captured_request_cookie: "-",
    captured_response_cookie: "-",
    termination_state: rec.termination,
    actconn: rec.actconn,
    feconn: rec.feconn,
    beconn: rec.beconn,
    srv_conn: rec.srvConn,
    retries: rec.retries,
    redispatched: rec.redispatched,
    srv_queue: rec.srvQueue,
    backend_queue: rec.backendQueue,
    http_request: rec.requestLine ?? "<BADREQ>",
  };
}
