// Issue 18, "messages that never mislead": no follow-on message after a refused line, every
// problem at once, HAProxy's words, and the small .cfg things (variables in addresses, legacy
// headers, missing final newline).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { loadConfigTextSync } from "../../src/config/load.ts";
import { ConfigError, type Diagnostic, type SrcNode } from "../../src/config/model.ts";

function where(ds: Diagnostic[]): string[] {
  return ds.map((d) => `${d.line}:${d.col} ${d.severity}: ${d.message}`);
}

/** All messages of loading `text` as a .cfg file (none when it loads without warning). */
function load(text: string): string[] {
  try {
    return where(loadConfigTextSync(text, "m.cfg", "cfg").warnings);
  } catch (err) {
    assert(err instanceof ConfigError, String(err));
    return where(err.diagnostics);
  }
}

function get(n: SrcNode, ...path: string[]): SrcNode {
  let cur = n;
  for (const k of path) {
    assert(cur.kind === "map", `not a map at ${k}`);
    const e = cur.entries.find((x) => x.key === k);
    assert(e, `no key ${k}`);
    cur = e.value;
  }
  return cur;
}
function scalar(n: SrcNode): unknown {
  assert(n.kind === "scalar");
  return n.value;
}

const T = "    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n";

Deno.test("a refused `mode health` is not followed by the 'has no mode' advice", () => {
  const inDefaults = load(
    `defaults\n    mode health\n${T}frontend pg\n    bind :5432\n    default_backend db\n` +
      `backend db\n    server s1 127.0.0.1:5433 check\n`,
  );
  assertEquals(inDefaults.filter((m) => m.includes("mode")).length, 1, inDefaults.join("\n"));
  assert(inDefaults[0].startsWith("2:10 error: 'mode health' doesn't exist anymore"));
  const inProxy = load(
    `defaults\n${T}listen pg\n    mode health\n    bind :5432\n    server s1 127.0.0.1:5433\n`,
  );
  assertEquals(inProxy.filter((m) => m.includes("'mode'")), [], inProxy.join("\n"));
});

Deno.test("a refused bind is not followed by 'has no bind' nor 'no frontend'", () => {
  const msgs = load(
    `defaults\n    mode http\n${T}frontend www\n    bind :8443 accept-proxy\n` +
      `    default_backend app\nbackend app\n    server s1 127.0.0.1:8080\n`,
  );
  // its message, and nothing after it
  assertEquals(msgs, [
    "7:16 error: 'bind :8443' : 'accept-proxy' is not supported by wtproxy: the PROXY protocol " +
    "is not supported.",
  ]);
});

Deno.test("a refused server line is not followed by 'backend has no server'", () => {
  const msgs = load(
    `defaults\n    mode http\n${T}frontend www\n    bind :8080\n    default_backend app\n` +
      `backend app\n    server s1 127.0.0.1:8443 send-proxy\n`,
  );
  assert(msgs.length >= 1 && msgs.every((m) => m.startsWith("10:")), msgs.join("\n"));
});

Deno.test("every problem at once: model checks run even when a line is refused", () => {
  const msgs = load(
    `defaults\n    mode http\n${T}frontend www\n    bind :8080\n    http-after-response deny\n` +
      `    default_backend nowhere\nbackend app\n    retries many\n    server s1 127.0.0.1:8080\n`,
  );
  assertEquals(msgs.map((m) => m.split(" ")[0]), ["8:5", "6:10", "11:13"], msgs.join("\n"));
  assert(msgs[1].includes("unable to find required default_backend: 'nowhere'"));
  assert(msgs[2].includes("expected a whole number"));
});

Deno.test("a refused backend section: routes to it are not reported again", () => {
  const msgs = load(
    `defaults\n    mode http\n${T}frontend www\n    bind :8080\n    default_backend app\n` +
      `backend app\n    server s1 127.0.0.1:8080\nlisten app\n    bind :8081\n`,
  );
  assertEquals(msgs.filter((m) => m.includes("error")).length, 1, msgs.join("\n"));
  assert(msgs[0].includes("has the same name as backend 'app'"));
});

Deno.test("a file without a final newline is read, with HAProxy's complaint as a warning", () => {
  const { diagnostics } = parseHaproxy("defaults\n    mode http", "n.cfg");
  assertEquals(where(diagnostics), [
    "2:14 warning: Missing LF on last line, file might have been truncated: HAProxy refuses " +
    "such a file; wtproxy reads it. End the file with a newline.",
  ]);
  assertEquals(parseHaproxy("defaults\n    mode http\n", "n.cfg").diagnostics, []);
});

Deno.test("$VAR in a log address is expanded, as HAProxy does for addresses", () => {
  const { tree, diagnostics } = parseHaproxy("global\n    log $LOGHOST:514 local0\n", "g.cfg", {
    env: (n) => n === "LOGHOST" ? "127.0.0.9" : undefined,
  });
  assertEquals(diagnostics, []);
  const log = get(tree, "global", "log");
  assert(log.kind === "seq" && log.items[0].kind === "map");
  assertEquals(scalar(log.items[0].entries[0].value), "127.0.0.9:514");
});

Deno.test("$VAR and ${VAR} in bind and server addresses are expanded, quoted or not", () => {
  const env = (n: string) => ({ PORT: "18080", HOST: "127.0.0.2" } as Record<string, string>)[n];
  const { tree, diagnostics } = parseHaproxy(
    `defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:$PORT\n    default_backend b\n` +
      `backend b\n    server s1 \${HOST}:80\n    server s2 "$HOST:\${PORT}"\n` +
      `    server s3 $NOPE:81\n`,
    "v.cfg",
    { env },
  );
  assertEquals(scalar(get(tree, "frontends", "f", "bind")), "127.0.0.1:18080");
  assertEquals(scalar(get(tree, "backends", "b", "servers", "s1", "address")), "127.0.0.2:80");
  assertEquals(scalar(get(tree, "backends", "b", "servers", "s2", "address")), "127.0.0.2:18080");
  assertEquals(where(diagnostics), [
    "9:15 warning: environment variable 'NOPE' is not set: it expands to an empty string",
  ]);
});

Deno.test("1.x headers `listen NAME ADDR` and `frontend NAME ADDR` listen on ADDR", () => {
  const { tree, diagnostics } = parseHaproxy(
    `defaults\n    mode http\nfrontend www 127.0.0.1:8080,127.0.0.1:8081\n` +
      `    default_backend b\nbackend b\n    server s1 127.0.0.1:9090\n`,
    "h.cfg",
  );
  const bind = get(tree, "frontends", "www", "bind");
  assert(bind.kind === "seq");
  assertEquals(bind.items.map(scalar), ["127.0.0.1:8080", "127.0.0.1:8081"]);
  assertEquals(diagnostics.map((d) => `${d.line}:${d.col} ${d.severity}`), ["3:14 warning"]);
  assert(diagnostics[0].message.includes("Write 'bind 127.0.0.1:8080,127.0.0.1:8081'"));
  // a refused address in the header: its error only, no "has no bind" after it
  const bad = parseHaproxy("defaults\n    mode http\nlisten app unix@/x.sock\n", "h.cfg");
  assertEquals(bad.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity}`), ["3:12 error"]);
});

Deno.test("dual-stack `bind :25` + `bind :::25` in one frontend is no clash; across two it is", () => {
  const fe = (name: string, binds: string[]) =>
    `frontend ${name}\n${binds.map((b) => `    bind ${b}\n`).join("")}    default_backend b\n`;
  const tail = `backend b\n    server s1 127.0.0.1:9090\n`;
  assertEquals(load(`defaults\n    mode http\n${T}${fe("smtp", [":25", ":::25"])}${tail}`), []);
  const two = load(`defaults\n    mode http\n${T}${fe("a", [":25"])}${fe("c", [":::25"])}${tail}`);
  assertEquals(two.length, 1, two.join("\n"));
  assert(two[0].includes("is already bound by frontend 'a'"));
});

Deno.test("--to-yaml on a .cfg with refused lines prints the YAML, refused lines as notes", async () => {
  const main = new URL("../../src/main.ts", import.meta.url).pathname;
  const tmp = await Deno.makeTempFile({ suffix: ".cfg" });
  try {
    await Deno.writeTextFile(
      tmp,
      `defaults\n    mode http\n${T}frontend www\n    bind :8080\n` +
        `    http-after-response deny if { path /x }\n    default_backend app\n` +
        `backend app\n    server s1 127.0.0.1:8443 send-proxy\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--to-yaml", "-f", tmp],
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, stderr);
    assert(
      stdout.includes("# refused by wtproxy (see the error): http-after-response deny if"),
      stdout,
    );
    assert(
      stdout.includes("# refused by wtproxy (see the error): server s1 127.0.0.1:8443 send-proxy"),
    );
    assert(stdout.includes("default_backend: app"), stdout);
    assertEquals(stderr.trim().split("\n").length, 2, stderr); // http-after-response, send-proxy
    assert(stderr.includes(":8:5: error: 'http-after-response' is not supported"), stderr);
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test(".cfg messages quote the directive as written, not a YAML path", () => {
  const text = `defaults\n    mode http\n    timeout connect 5s\n    timeout server 1x   # bad\n` +
    `frontend www\n    bind 0.0.0.0:$PORT\n    default_backend app\n` +
    `backend app\n    retries many\n    http-check expect status 200\n` +
    `    server s1 127.0.0.1:8443 track app/s2\n    server s2 127.0.0.1:8444\n`;
  let msgs: string[] = [];
  const saved = Deno.env.get("PORT");
  Deno.env.set("PORT", "99999");
  try {
    msgs = load(text);
  } finally {
    if (saved === undefined) Deno.env.delete("PORT");
    else Deno.env.set("PORT", saved);
  }
  assertEquals(msgs, [
    `4:20 error: 'timeout server 1x' : invalid duration "1x": unknown unit "x" (use us, ms, s, m, h or d)`,
    `6:10 error: 'bind 0.0.0.0:$PORT' : invalid port 99999 in "0.0.0.0:99999": expected a number from 0 to 65535`,
    `9:13 error: 'retries many' : expected a whole number, got "many"`,
    `11:12 error: server app/s1: tracked server 'app/s2' does not have any check enabled (add 'check' to it)`,
    `5:10 warning: missing timeouts for frontend 'www': client (write 'timeout client' in it or in 'defaults'; without it an idle client holds its connection forever)`,
    `10:23 warning: 'http-check expect status 200' : http-check expect has no effect without 'option httpchk'`,
  ]);
  assert(!msgs.some((m) => /backends\.|frontends\.|timeouts\./.test(m)));
});

Deno.test(".if/.elif/.else/.endif: only the true branch is read, nested blocks too", () => {
  const text = [
    ".if defined(PROD)",
    "global\n    maxconn 100",
    '.elif streq("$MODE",stage) && !version_before(2.4-dev19)',
    "global\n    maxconn 200",
    "    .if feature(OPENSSL)",
    "    nosuch keyword here",
    "    .else",
    "    log-tag staged",
    "    .endif",
    ".else",
    "global\n    maxconn 300",
    ".endif",
    ".if 0",
    '    timeout client "$UNSET_IN_FALSE_BRANCH"',
    ".elif (1 || 0) && version_atleast(2.6) && !version_atleast(2.7) && strneq(a,b)",
    "defaults\n    mode http",
    ".endif",
    "",
  ].join("\n");
  const { tree, diagnostics } = parseHaproxy(text, "c.cfg", {
    env: (n) => ({ MODE: "stage" } as Record<string, string>)[n],
  });
  assertEquals(scalar(get(tree, "global", "maxconn")), 200);
  assertEquals(scalar(get(tree, "global", "log-tag")), "staged");
  assertEquals(scalar(get(tree, "defaults", "mode")), "http");
  assertEquals(where(diagnostics), [
    "7:9 warning: 'feature(OPENSSL)' is false: wtproxy has no HAProxy feature 'OPENSSL'.",
  ]);
});

Deno.test(".if errors name the place: bad conditions, .else twice, unterminated", () => {
  const text = ".if streq(a)\n.else\n.else\n.endif\n.if 1 &&\n.endif\n.if (1\n";
  const { diagnostics } = parseHaproxy(text, "c.cfg");
  assertEquals(where(diagnostics).map((m) => m.split(": ").slice(0, 2).join(": ")), [
    "1:5 error: failed to parse the condition 'streq(a)' of '.if' at position 1",
    "3:1 error: a second '.else' in the '.if' block opened at line 1.",
    "5:5 error: failed to parse the condition '1 &&' of '.if' at position 5",
    "7:5 error: failed to parse the condition '(1' of '.if' at position 3",
    "7:1 error: non-terminated '.if' block",
  ]);
});

Deno.test("never 'unknown keyword' for an HAProxy 2.6 keyword: what it does, and what wtproxy does", () => {
  const text = [
    "global",
    "    default-path config", // 2
    "    mworker-max-reloads 3", // 3
    "defaults",
    "    mode http",
    "    option forceclose", // 6
    "    option httpslog", // 7
    "    clitcpka-cnt 3", // 8
    "frontend www",
    "    bind :8080 no-sslv3 name web", // 10
    "    default_backend app",
    "backend app",
    "    balance hash req.hdr(host)", // 13
    "    server s1 127.0.0.1:81 no-sslv3 check", // 14
    "    frobnicate now", // 15
    "",
  ].join("\n");
  const msgs = load(text);
  const at = (p: string) => msgs.find((m) => m.startsWith(p)) ?? `nothing at ${p}`;
  assert(
    at("2:5 warning:").includes(
      `'default-path' is not supported by wtproxy and is ignored: in HAProxy 2.6 it does this: "By default HAProxy loads all files`,
    ),
  );
  assert(
    at("3:5 warning:").includes("'mworker-max-reloads' is not supported by wtproxy and is ignored"),
  );
  assert(
    at("6:5 error:").includes(
      "'option forceclose' is not supported by wtproxy: not supported any more since HAProxy 2.0, please just remove it, or use 'option httpclose'",
    ),
  );
  assert(
    at("7:5 warning:").includes("'option httpslog' is not supported by wtproxy and is ignored"),
  );
  assert(
    at("8:5 warning:").includes(
      `'clitcpka-cnt' is not supported by wtproxy and is ignored: in HAProxy 2.6`,
    ),
  );
  assert(
    // (a TLS bind parameter wtproxy's TLS makes moot: ignored with a warning)
    at("10:16 warning:").includes(
      `'bind :8080' : 'no-sslv3' is not supported by wtproxy and ignored: SSLv3 is never offered`,
    ),
  );
  // parsing goes on after it: the next parameter is still looked at
  assert(at("10:25 warning:").includes("'name' is not supported by wtproxy and ignored"));
  assert(
    at("13:13 error:").includes(
      "'balance hash' is an HAProxy 2.6 algorithm (hashes a sample expression) that wtproxy does not support",
    ),
  );
  assert(
    at("14:28 error:").includes(
      "'server app/s1' : 'no-sslv3' is not supported by wtproxy: in HAProxy 2.6",
    ),
  );
  // a keyword HAProxy does not know either stays "unknown"
  assert(at("15:5 error:").includes("unknown keyword 'frobnicate' in 'backend' section"));
  assert(!msgs.some((m) => m.includes("unknown") && !m.startsWith("15:")), msgs.join("\n"));
});

Deno.test("`timeout client 15min` is read as 15m with HAProxy 2.6's warning", () => {
  const { tree, diagnostics } = parseHaproxy(
    "defaults\n    mode http\n    timeout client 15min\n    timeout server 10sec\n",
    "t.cfg",
  );
  assertEquals(scalar(get(tree, "defaults", "timeouts", "client")), "15m");
  assertEquals(scalar(get(tree, "defaults", "timeouts", "server")), "10s");
  assertEquals(diagnostics.map((d) => `${d.line}:${d.col} ${d.severity}`), [
    "3:23 warning",
    "4:23 warning",
  ]);
  assert(
    diagnostics[0].message.startsWith("unexpected character 'i' after the timer value '15min'"),
  );
});

Deno.test("`inter 1s[`: stray characters after a timer's unit are a warning (HAProxy 2.6), not after a bare number", () => {
  const cfg = (v: string) =>
    `defaults\n    mode http\n${T}listen b\n    bind 127.0.0.1:0\n    server s1 127.0.0.1:80 check inter ${v}\n`;
  const { tree } = parseHaproxy(cfg("1s["), "t.cfg");
  const be = get(tree, "backends", "b");
  assertEquals(scalar(get(get(be, "servers") as SrcNode, "s1", "inter")), "1s");
  assertEquals(load(cfg("1s[")), [
    "8:42 warning: unexpected character '[' after the timer value '1s[', only (us, ms, s, m, h, " +
    "d) are supported: HAProxy 2.6 reads it as '1s' and will refuse it in next versions; wtproxy " +
    "reads it as '1s' too. Write '1s'.",
  ]);
  assertEquals(load(cfg("250ms]")).length, 1);
  // HAProxy refuses a number followed by something that is not a unit
  const bad = load(cfg("1["));
  assertEquals(bad.length, 1, bad.join("\n"));
  assert(bad[0].startsWith("8:40 error:"), bad[0]);
});

Deno.test("a frontend that only redirects is not told 'every request gets 503'", () => {
  const fe = (rule: string) =>
    `defaults\n    mode http\n${T}frontend http-in\n    bind :8080\n    ${rule}\n`;
  assertEquals(load(fe("http-request redirect scheme https code 301")), []);
  assertEquals(load(fe("redirect scheme https code 301 if !{ ssl_fc }")), [
    "6:10 warning: frontend 'http-in' has no default_backend and no use_backend: every request " +
    "that no http-request rule answers gets 503",
  ]);
});

Deno.test("one feature, one message: a parameter given twice is named once", () => {
  const msgs = load(
    `defaults\n    mode http\n${T}frontend www\n    bind :8080\n    default_backend app\n` +
      `backend app\n    server s1 127.0.0.1:8080 send-proxy send-proxy-v2 send-proxy\n`,
  );
  assertEquals(msgs.length, 1, msgs.join("\n"));
  assert(msgs[0].includes("'send-proxy' and 'send-proxy-v2' are not supported"), msgs[0]);
});

Deno.test("a sample fetch of HAProxy 2.6 that wtproxy lacks is named as HAProxy's, not unknown", () => {
  const msgs = load(
    `defaults\n    mode http\n${T}frontend www\n    bind :8080\n` +
      `    acl blocked var(txn.blocked) -m bool\n    acl typo url_sup wtd=wt1\n` +
      `    use_backend app if !blocked\n    default_backend app\n` +
      `backend app\n    server s1 127.0.0.1:8080\n`,
  );
  assert(
    msgs.some((m) =>
      m.includes(`'var' is an HAProxy 2.6 sample fetch ("Returns a variable with the stored type")`)
    ),
    msgs.join("\n"),
  );
  assert(msgs.some((m) => m.includes("unknown fetch 'url_sup'")), msgs.join("\n"));
});
