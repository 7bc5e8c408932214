// Every fetch and match method on a table of requests: [acl text, request, expected].
import { equal } from "node:assert/strict";
import type { RequestInfo } from "../../src/proxy/request.ts";
import { req } from "../balance/fixture.ts";
import { aclMatches } from "./helpers.ts";

type Row = [string, RequestInfo, boolean];

const wt = req("/app?a=1&wtd=wt1abc&b=2");
const abs = req("http://example.com/app/x?wtd=wt2abc");

const table: Record<string, Row[]> = {
  url: [
    ["url /app?a=1&wtd=wt1abc&b=2", wt, true],
    ["url /app", wt, false],
    ["url http://example.com/app/x?wtd=wt2abc", abs, true],
    ["url *", req("*", { method: "OPTIONS" }), true],
  ],
  url_sub: [
    ["url_sub wtd=wt1", wt, true],
    ["url_sub wtd=wt1", req("/wtd=wt1/path"), true], // substring in the path counts
    ["url_sub wtd=wt1", req("/?a=1&wtd=wt12"), true], // prefix collision, as HAProxy
    ["url_sub wtd=wt1", req("/x?WTD=WT1"), false], // case-sensitive
    ["url_sub -i wtd=wt1", req("/x?WTD=WT1"), true],
    ["url_sub -i WTD=WT1", req("/?WtD=Wt1"), true],
    ["url_sub wtd=wt2", req("/app?wtd%3Dwt2abc"), false], // no decoding
    ["url_sub wtd=wt2", abs, true], // absolute form
    ["url_sub nope other wtd=wt1", wt, true], // values OR
  ],
  url_beg: [["url_beg /app", wt, true], ["url_beg /ap?", wt, false]],
  url_end: [["url_end b=2", wt, true], ["url_end b=3", wt, false]],
  url_reg: [
    ["url_reg wtd=wt[0-9]+[a-z]+", wt, true],
    ["url_reg ^/APP", wt, false],
    ["url_reg -i ^/APP", wt, true],
  ],
  url_dir: [["url_dir app", wt, true], ["url_dir ap", wt, false]],
  path: [
    ["path /app", wt, true],
    ["path /app/x", abs, true],
    ["path /", req("/?wtd=wt1"), true],
    ["path /app?a=1", wt, false],
  ],
  path_beg: [["path_beg /app/", abs, true], ["path_beg /api", wt, false]],
  path_end: [["path_end .css .js", req("/s/main.js?v=1"), true], [
    "path_end .css",
    req("/s/main.js?x=.css"),
    false,
  ]],
  path_sub: [["path_sub pp/", abs, true], ["path_sub wtd", wt, false]],
  path_reg: [["path_reg ^/app(/|$)", wt, true], ["path_reg ^/app/$", abs, false]],
  path_dir: [["path_dir x", abs, true], ["path_dir /app/", abs, true], ["path_dir pp", abs, false]],
  path_len: [["path_len 4", wt, true], ["path_len gt 4", wt, false]],
  query: [
    ["query a=1&wtd=wt1abc&b=2", wt, true],
    ["query_beg a=1", wt, true],
    ["query -m found", req("/app"), false],
    ["query -m found", req("/app?"), true],
  ],
  url_param: [
    ["url_param(wtd) -m beg wt1", wt, true],
    ["url_param(wtd) wt1abc", wt, true],
    ["urlp(wtd) wt1abc", wt, true],
    ["urlp_beg(wtd) wt1", wt, true],
    ["urlp(wtd) -m beg wt2", wt, false],
    ["urlp(wtd) -m found", req("/app?wtd"), true],
    ["urlp(wtd) -m found", req("/app?xwtd=1"), false],
    ["urlp(wtd) -m beg wt1", req("/?wtd=wt2a&wtd=wt1b"), true], // every occurrence
    ["urlp_val(n) gt 5", req("/?n=7"), true],
    ["urlp_val(n) gt 5", req("/?n=x"), false],
  ],
  hdr: [
    ["hdr(host) example.org", req("/", { headers: { Host: "example.org" } }), true],
    ["hdr(Host) -i EXAMPLE.org", req("/", { headers: { host: "example.org" } }), true],
    ["hdr(host) example.org", req("/", { headers: { host: "Example.org" } }), false],
    ["hdr(x-a) two", req("/", { headers: [["x-a", "one"], ["x-a", "two"]] }), true],
    ["hdr(x-a,1) two", req("/", { headers: [["x-a", "one"], ["x-a", "two"]] }), false],
    ["hdr(x-a,-1) two", req("/", { headers: [["x-a", "one"], ["x-a", "two"]] }), true],
    ["hdr(x-missing) -m found", req("/"), false],
    [
      "hdr_sub(user-agent) Firefox",
      req("/", { headers: { "user-agent": "Mozilla Firefox/1" } }),
      true,
    ],
    ["hdr_beg(host) www.", req("/", { headers: { host: "www.example.org" } }), true],
    ["hdr_end(host) .org", req("/", { headers: { host: "www.example.org" } }), true],
    ["hdr_end(host) .com", req("/", { headers: { host: "www.example.org" } }), false],
    [
      "hdr_reg(host) ^www\\.[a-z]+\\.org$",
      req("/", { headers: { host: "www.example.org" } }),
      true,
    ],
    ["hdr_dom(host) example", req("/", { headers: { host: "www.example.org" } }), true],
    ["hdr_val(content-length) gt 10", req("/", { headers: { "content-length": "42" } }), true],
  ],
  hdr_cnt: [
    ["hdr_cnt(x-a) eq 2", req("/", { headers: [["x-a", "one"], ["x-a", "two"]] }), true],
    ["hdr_cnt(x-a) 0", req("/"), true],
    ["hdr_cnt(x-a) gt 0", req("/"), false],
  ],
  "req.cook": [
    ["req.cook(sid) abc", req("/", { headers: { cookie: "a=1; sid=abc" } }), true],
    ["req.cook(sid) abc", req("/", { headers: { cookie: "a=1; SID=abc" } }), false],
    ["cook(sid) -m beg ab", req("/", { headers: { cookie: "sid=abc" } }), true],
    ["req.cook(sid) -m found", req("/"), false],
    ["req.cook_cnt(a) eq 2", req("/", { headers: [["cookie", "a=1"], ["cookie", "a=2"]] }), true],
  ],
  method: [
    ["method GET HEAD", req("/"), true],
    ["method POST", req("/"), false],
    ["method -i get", req("/"), true],
  ],
  src: [
    ["src 192.0.2.10", req("/"), true],
    ["src 192.0.2.0/24", req("/"), true],
    ["src 192.0.2.0/255.255.255.0", req("/"), true],
    ["src 10.0.0.0/8", req("/"), false],
    ["src 127.0.0.1/8", req("/", { src: "::ffff:127.0.0.1" }), true], // IPv4-mapped client
    ["src ::1", req("/", { src: "::1" }), true],
    ["src 2001:db8::/32", req("/", { src: "2001:db8:1::5" }), true],
    ["src 2001:db8::/48", req("/", { src: "2001:db8:1::5" }), false],
    ["src 10.0.0.0/8 ::1", req("/", { src: "::1" }), true],
  ],
  src_port: [["src_port 40000:40100", req("/"), true]],
  dst: [["dst 127.0.0.0/8", req("/"), true], ["dst 10.1.2.3", req("/", { dst: "10.1.2.3" }), true]],
  dst_port: [
    ["dst_port 8080", req("/"), true],
    ["dst_port 80 443", req("/"), false],
    ["dst_port 8000:8999", req("/"), true],
    ["dst_port :1024", req("/"), false],
    ["dst_port 1024:", req("/"), true],
    ["dst_port lt 8081", req("/"), true],
    ["dst_port le 8079", req("/"), false],
    ["dst_port ge 8080", req("/"), true],
  ],
  "req.ver": [["req.ver 1.1", req("/"), true], ["req.ver 1.0", req("/"), false]],
  always: [["always_true", req("/"), true], ["always_false", req("/"), false]],
};

for (const [fetch, rows] of Object.entries(table)) {
  Deno.test(`fetch ${fetch}`, () => {
    for (const [text, r, want] of rows) {
      equal(aclMatches(text, r), want, `'${text}' on ${r.method} ${r.target}`);
    }
  });
}

Deno.test("fetch nbsrv reads the context at request time", () => {
  let n = 0;
  const ctx = { nbsrv: (b: string) => (b === "bck1" ? n : 99) };
  equal(aclMatches("nbsrv(bck1) gt 0", req("/"), ctx), false);
  n = 1;
  equal(aclMatches("nbsrv(bck1) gt 0", req("/"), ctx), true);
  equal(aclMatches("nbsrv(bck1) gt 0 1", req("/"), ctx), true); // `gt 0 1` parses
  equal(aclMatches("nbsrv(bck1) eq 2", req("/"), ctx), false);
  equal(aclMatches("nbsrv(bck1) lt 2", req("/"), ctx), true);
});
