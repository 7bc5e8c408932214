// Conditions (AND / OR / NOT / anonymous ACLs), rule order, `unless`, default_backend, and
// the load-time errors with their FILE:LINE:COL.
import { deepStrictEqual as assertEquals, equal, ok as assert, throws } from "node:assert/strict";
import { compileFrontend, compileRouter } from "../../src/acl/compile.ts";
import { validateFrontendAcls } from "../../src/acl/validate.ts";
import { splitWords } from "../../src/acl/words.ts";
import { ConfigError } from "../../src/config/model.ts";
import { frontend, recipeConfig } from "../helpers/config.ts";
import { req } from "../balance/fixture.ts";
import { noServers } from "./helpers.ts";

const ACLS: [string, string][] = [
  ["is_api", "path_beg /api"],
  ["is_get", "method GET"],
  ["is_local", "src 127.0.0.1"],
  // Same name twice ORs.
  ["is_static", "path_end .css"],
  ["is_static", "path_end .js"],
];

function routeOf(condition: string, r = req("/")): boolean {
  const c = compileFrontend(frontend(ACLS, [["hit", "if", condition]], "miss"));
  assert(c.route, c.diagnostics.map((d) => d.message).join("; "));
  return c.route(r, noServers) === "hit";
}

Deno.test("condition: space is AND, || and or are OR, ! is NOT", () => {
  const api = req("/api/x");
  const postApi = req("/api/x", { method: "POST" });
  const table: [string, ReturnType<typeof req>, boolean][] = [
    ["is_api is_get", api, true],
    ["is_api is_get", postApi, false],
    ["is_api !is_get", postApi, true],
    ["is_api ! is_get", postApi, true],
    ["is_local || is_api", api, true],
    ["is_local or is_api", req("/"), false],
    ["is_local || is_api is_get", postApi, false], // AND binds tighter than OR
    ["is_local is_get || is_api", postApi, true],
    ["!is_local !is_api", req("/"), true],
    ["is_static", req("/a.css"), true],
    ["is_static", req("/a.js"), true],
    ["is_static", req("/a.html"), false],
    ["{ path /o1 } || { path /o2 }", req("/o2"), true],
    ["{ path /o1 } || { path /o2 }", req("/o3"), false],
    ["is_get !{ path_beg /api }", req("/x"), true],
    ["is_get !{ path_beg /api }", api, false],
    ["TRUE", req("/"), true],
    ["FALSE", req("/"), false],
    ["METH_GET", req("/", { method: "HEAD" }), true],
    ["LOCALHOST", req("/", { src: "127.0.0.1" }), true],
    ["LOCALHOST", req("/", { src: "::1" }), true],
    ["LOCALHOST", req("/"), false],
    ["HTTP_1.1", req("/"), true],
  ];
  for (const [cond, r, want] of table) {
    equal(routeOf(cond, r), want, `if ${cond} on ${r.method} ${r.target}`);
  }
});

Deno.test("rules: in order, first true wins, unless, default_backend, none -> null", () => {
  const fe = frontend(
    [["a", "path_beg /a"], ["ab", "path_beg /ab"]],
    [["bA", "if", "a"], ["bAB", "if", "ab"], ["bNotA", "unless", "a"]],
    "dflt",
  );
  const router = compileRouter(fe, noServers);
  equal(router.route(req("/ab")), "bA"); // both true: the first rule wins
  equal(router.route(req("/zz")), "bNotA");
  const noUnless = compileRouter(
    frontend([["a", "path_beg /a"]], [["bA", "if", "a"]], "dflt"),
    noServers,
  );
  equal(noUnless.route(req("/zz")), "dflt");
  const noDefault = compileRouter(
    frontend([["a", "path_beg /a"]], [["bA", "if", "a"]], null),
    noServers,
  );
  equal(noDefault.route(req("/zz")), null);
});

Deno.test("rules: evaluation is lazy (AND stops at the first false ACL)", () => {
  let calls = 0;
  const ctx = {
    nbsrv: () => {
      calls++;
      return 1;
    },
  };
  const router = compileRouter(
    frontend([["n", "nbsrv(b) gt 0"], ["never", "always_false"]], [["x", "if", "never n"]], null),
    ctx,
  );
  equal(router.route(req("/")), null);
  equal(calls, 0);
});

/** [acl lines, rules, expected "line:col: fragment" of the first error] */
const ERRORS: [[string, string][], [string, "if" | "unless", string][], string][] = [
  [[["a", "url_sup wtd=wt1"]], [], "1:10: acl 'a': unknown fetch 'url_sup'"],
  [[["a", "path_reg ^/(a"]], [], "1:19: acl 'a': invalid regex '^/(a'"],
  [[["a", "src 10.0.0.0/33"]], [], "1:14: acl 'a': invalid IP address or network '10.0.0.0/33'"],
  [[["a", "src 10.0.0.300"]], [], "1:14: acl 'a': invalid IP address or network"],
  [[["a", "src 10.0.0.0/255.0.255.0"]], [], "1:14: acl 'a': invalid IP address or network"],
  [[["a", "src 2001:db8::/129"]], [], "1:14: acl 'a': invalid IP"],
  [[["a", "nbsrv(bck1) gtt 0"]], [], "1:22: acl 'a': 'gtt' is neither an integer nor an operator"],
  [[["a", "nbsrv(bck1) gt"]], [], "1:22: acl 'a': operator 'gt' needs a value"],
  [[["a", "dst_port gt 1:5"]], [], "1:22: acl 'a': operator 'gt' cannot be used with the range"],
  [[["a", "nbsrv(bck9) gt 0"]], [], "1:16: acl 'a': no such backend 'bck9' in nbsrv()"],
  [[["a", "nbsrv gt 0"]], [], "1:10: acl 'a': fetch 'nbsrv' takes 1 argument(s), got 0"],
  [[["a", "path -m nope /x"]], [], "1:18: acl 'a': unknown match method 'nope'"],
  [[["a", "path -x /x"]], [], "1:15: acl 'a': unknown flag '-x'"],
  [[["a", "path -f /etc/list"]], [], "1:15: acl 'a': pattern files (-f) are not supported"],
  [
    [["a", "path,base64 /x"]],
    [],
    "1:15: acl 'a': converter 'base64' is not supported by wtproxy (supported: lower, upper, iif, map",
  ],
  [[["a", "path,lower( /x"]], [], "1:20: acl 'a': missing ')' after 'lower('"],
  [[["a", "path '/x"]], [], "1:15: acl 'a': unterminated quote"],
  [[["a", "always_true 1"]], [], "1:22: acl 'a': match method 'bool' takes no value"],
  [[["bad name", "always_true"]], [], "1:10: acl 'bad name': invalid name"],
  [[["a", "always_true"]], [["b", "if", "a srv1"]], "100:22: use_backend b if: unknown ACL 'srv1'"],
  [[["a", "always_true"]], [["b", "if", "a ||"]], "100:24: use_backend b if: condition ends"],
  [[["a", "always_true"]], [["b", "if", "|| a"]], "100:20: use_backend b if: '||' without a term"],
  [[["a", "always_true"]], [["b", "if", "{ path /x"]], "100:20: use_backend b if: missing '}'"],
  [
    [["a", "always_true"]],
    [["b", "if", "{ nope 1 }"]],
    "100:22: use_backend b if: unknown fetch 'nope'",
  ],
  [[["a", "always_true"]], [["b", "unless", ""]], "100:20: use_backend b unless: empty condition"],
];

Deno.test("errors: FILE:LINE:COL pointing at the offending word", () => {
  const backends = new Set(["bck1", "b"]);
  for (const [acls, rules, want] of ERRORS) {
    const fe = frontend(acls, rules, null);
    const diags = validateFrontendAcls(fe, backends).filter((d) => d.severity === "error");
    assert(diags.length > 0, `no error for ${JSON.stringify(acls)} ${JSON.stringify(rules)}`);
    const got = `${diags[0].line}:${diags[0].col}: ${diags[0].message}`;
    assert(got.startsWith(want), `expected '${want}...', got '${got}'`);
    equal(diags[0].file, "test.yaml");
    // compileRouter does not know the backend names; validation (at load) does.
    if (!want.includes("no such backend")) throws(() => compileRouter(fe, noServers), ConfigError);
  }
});

Deno.test("errors: a failed ACL is reported once, not again as unknown in the rule", () => {
  const fe = frontend([["a", "nope"]], [["b", "if", "a"]], null);
  const diags = validateFrontendAcls(fe, new Set(["b"]));
  assertEquals(diags.map((d) => d.message), ["acl 'a': unknown fetch 'nope'"]);
});

Deno.test("warnings: an ACL without values never matches (and says so)", () => {
  const fe = frontend([["a", "path_beg"]], [["b", "if", "a"]], "d");
  const c = compileFrontend(fe);
  assertEquals(c.diagnostics.map((d) => d.severity), ["warning"]);
  equal(c.route!(req("/x"), noServers), "d");
});

Deno.test("the recipe's ACLs validate clean", () => {
  const fe = recipeConfig().frontends[0];
  assertEquals(validateFrontendAcls(fe, new Set(["bck1", "bck2", "bck_lb"])), []);
});

Deno.test("words: a regex's backslash escapes are kept, quoting escapes are not", () => {
  assertEquals(splitWords(String.raw`^/api\.json$ a\ b \\x`).map((w) => w.text), [
    String.raw`^/api\.json$`,
    "a b",
    String.raw`\x`,
  ]);
});
