// Golden httplog lines: the lines HAProxy 2.6.12 wrote in haproxy-semantics §3.5 (X-2…X-11),
// rebuilt from RequestLog records and compared byte for byte.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  accessJson,
  escapeLogField,
  formatAcceptDate,
  formatHttplog,
  formatTcplog,
} from "../../src/log/httplog.ts";
import { ACCEPT, record } from "./fixture.ts";

const DATE = "[23/Nov/2026:20:02:06.018]";

Deno.test("httplog: §3.1 first datagram, routed request", () => {
  assertEquals(
    formatHttplog(record()),
    `127.0.0.1:59274 ${DATE} wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 ` +
      `"GET /?wtd=wt1abc HTTP/1.1"`,
  );
});

Deno.test("httplog: §3.5 golden lines", () => {
  const cases: [Partial<Parameters<typeof record>[0]>, string][] = [
    [
      { backend: "bck_lb", server: "srv2", tc: 0, tres: 13, ta: 13 },
      'wt bck_lb/srv2 0/0/0/13/13 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"',
    ],
    [
      {
        frontend: "f",
        backend: "nosrv",
        server: null,
        tw: -1,
        tc: -1,
        tres: -1,
        ta: 0,
        status: 503,
        bytesRead: 217,
        termination: "SC--",
        requestLine: "GET /nosrv HTTP/1.1",
      },
      'f nosrv/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET /nosrv HTTP/1.1"',
    ],
    [
      {
        frontend: "f",
        backend: "closed",
        server: "s1",
        tw: 3006,
        tc: -1,
        tres: -1,
        ta: 3007,
        status: 503,
        bytesRead: 217,
        termination: "SC--",
        retries: 3,
        requestLine: "GET /closed HTTP/1.1",
      },
      'f closed/s1 0/3006/-1/-1/3007 503 217 - - SC-- 1/1/0/0/3 0/0 "GET /closed HTTP/1.1"',
    ],
    [
      {
        frontend: "f",
        backend: "closed2",
        server: "alive",
        tc: 0,
        tres: 8,
        ta: 8,
        bytesRead: 286,
        retries: 1,
        redispatched: true,
        requestLine: "GET /c2 HTTP/1.1",
      },
      'f closed2/alive 0/0/0/8/8 200 286 - - ---- 1/1/0/0/+1 0/0 "GET /c2 HTTP/1.1"',
    ],
    [
      {
        server: null,
        tc: -1,
        tres: -1,
        ta: 2011,
        status: 503,
        bytesRead: 217,
        termination: "SC--",
        retries: 2,
        redispatched: true,
      },
      'wt bck1/<NOSRV> 0/0/-1/-1/2011 503 217 - - SC-- 1/1/0/0/+2 0/0 "GET /?wtd=wt1abc HTTP/1.1"',
    ],
    [
      {
        frontend: "f",
        backend: "slow",
        server: "s1",
        tc: 0,
        tres: -1,
        ta: 1002,
        status: 504,
        bytesRead: 198,
        termination: "sH--",
        requestLine: "GET /slow HTTP/1.1",
      },
      'f slow/s1 0/0/0/-1/1002 504 198 - - sH-- 1/1/0/0/0 0/0 "GET /slow HTTP/1.1"',
    ],
    [
      {
        frontend: "f",
        backend: "ws",
        server: "s1",
        tc: 1,
        tres: 1,
        ta: 4309,
        status: 101,
        bytesRead: 144,
        termination: "cD--",
        requestLine: "GET /ws?wtd=wt1abcdef HTTP/1.1",
      },
      'f ws/s1 0/0/1/1/4309 101 144 - - cD-- 1/1/0/0/0 0/0 "GET /ws?wtd=wt1abcdef HTTP/1.1"',
    ],
    [
      {
        frontend: "f",
        backend: "f",
        server: null,
        tr: -1,
        tw: -1,
        tc: -1,
        tres: -1,
        ta: 0,
        status: 400,
        bytesRead: 0,
        termination: "PR--",
        requestLine: null,
      },
      'f f/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"',
    ],
    [
      {
        frontend: "withnull",
        backend: "withnull",
        server: null,
        tr: -1,
        tw: -1,
        tc: -1,
        tres: -1,
        ta: 2,
        status: 400,
        bytesRead: 0,
        termination: "CR--",
        actconn: 3,
        feconn: 2,
        requestLine: null,
      },
      'withnull withnull/<NOSRV> -1/-1/-1/-1/2 400 0 - - CR-- 3/2/0/0/0 0/0 "<BADREQ>"',
    ],
  ];
  for (const [extra, tail] of cases) {
    assertEquals(formatHttplog(record(extra)), `127.0.0.1:59274 ${DATE} ${tail}`);
  }
});

Deno.test("httplog: accept date is local time with milliseconds, zero-padded", () => {
  assertEquals(
    formatAcceptDate(new Date(2026, 0, 3, 4, 5, 6, 7).getTime()),
    "03/Jan/2026:04:05:06.007",
  );
  assertEquals(
    formatAcceptDate(new Date(2026, 11, 31, 23, 59, 59, 999).getTime()),
    "31/Dec/2026:23:59:59.999",
  );
  // The per-second cache must not leak the previous second's prefix.
  assertEquals(
    formatAcceptDate(new Date(2026, 11, 31, 23, 59, 59, 0).getTime()),
    "31/Dec/2026:23:59:59.000",
  );
  assertEquals(formatAcceptDate(ACCEPT), "23/Nov/2026:20:02:06.018");
});

Deno.test("httplog: quotes, control bytes, '#' and non-ASCII become #XX; spaces stay", () => {
  assertEquals(escapeLogField('GET /a"b HTTP/1.1'), "GET /a#22b HTTP/1.1");
  assertEquals(escapeLogField("GET /\x01\x1f\x7f HTTP/1.1"), "GET /#01#1F#7F HTTP/1.1");
  assertEquals(escapeLogField("GET /#frag HTTP/1.1"), "GET /#23frag HTTP/1.1");
  assertEquals(escapeLogField("GET /é HTTP/1.1"), "GET /#C3#A9 HTTP/1.1");
  assertEquals(escapeLogField("GET /plain?x=1&y=%20 HTTP/1.1"), "GET /plain?x=1&y=%20 HTTP/1.1");
  assertEquals(
    formatHttplog(record({ requestLine: 'GET /"x" HTTP/1.1' })).endsWith('"GET /#22x#22 HTTP/1.1"'),
    true,
  );
});

Deno.test("tcplog: layout used without option httplog", () => {
  assertEquals(
    formatTcplog(record({ tw: 0, tc: 2, ta: 9 })),
    `127.0.0.1:59274 ${DATE} wt bck1/srv1 0/2/9 276 -- 1/1/0/0/0 0/0`,
  );
  assertEquals(
    formatTcplog(
      record({ server: null, tc: -1, ta: 0, termination: "SC--", retries: 2, redispatched: true }),
    ),
    `127.0.0.1:59274 ${DATE} wt bck1/<NOSRV> 0/-1/0 276 SC 1/1/0/0/+2 0/0`,
  );
});

Deno.test("json: same values as the httplog line, HAProxy field names", () => {
  const j = JSON.parse(JSON.stringify(accessJson(record({ retries: 1, redispatched: true }))));
  assertEquals(j, {
    type: "access",
    client_ip: "127.0.0.1",
    client_port: 59274,
    accept_date: "23/Nov/2026:20:02:06.018",
    accept_ts: ACCEPT,
    frontend_name: "wt",
    backend_name: "bck1",
    server_name: "srv1",
    TR: 0,
    Tw: 0,
    Tc: 2,
    Tr: 7,
    Ta: 9,
    status_code: 200,
    bytes_read: 276,
    captured_request_cookie: "-",
    captured_response_cookie: "-",
    termination_state: "----",
    actconn: 1,
    feconn: 1,
    beconn: 0,
    srv_conn: 0,
    retries: 1,
    redispatched: true,
    srv_queue: 0,
    backend_queue: 0,
    http_request: "GET /?wtd=wt1abc HTTP/1.1",
  });
  const bad = accessJson(record({ server: null, requestLine: null }));
  assertEquals([bad.server_name, bad.http_request], ["<NOSRV>", "<BADREQ>"]);
});
