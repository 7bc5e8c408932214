// The list of built-in fetches and matchers: a new one is a file plus one import here.
import "./matchers/string.ts";
import "./matchers/reg.ts";
import "./matchers/int.ts";
import "./matchers/ip.ts";
import "./matchers/bool.ts";
import "./matchers/bin.ts";
import "./fetches/url.ts";
import "./fetches/hdr.ts";
import "./fetches/cookie.ts";
import "./fetches/conn.ts";
import "./fetches/method.ts";
import "./fetches/nbsrv.ts";
import "./fetches/always.ts";
import "./fetches/payload.ts";
import "./fetches/ssl.ts";
