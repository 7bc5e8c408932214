// TLS on a bind: handshakes (curl and Deno clients against a test CA), SNI choosing the
// certificate, ssl_fc in rules, plain HTTP and garbage on the TLS port, the handshake timeout,
// and certificate problems reported at load.

import { deepStrictEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { curl, makeCa, type TestCa } from "../helpers/certs.ts";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { startTestProxy, type TestProxy } from "../helpers/proxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/model.ts";

function yaml(be: string, crt: string[], extra = ""): string {
  return `
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s, http-request: 1s }
frontends:
  f:
    bind:
      - address: 127.0.0.1:0
        ssl: { crt: [${crt.map((c) => JSON.stringify(c)).join(", ")}] }
    default_backend: b
    http-request:
      - set-header X-Forwarded-Proto https if { ssl_fc }
      - set-header X-Sni %[ssl_fc_sni]
${extra}
backends:
  b:
    servers:
      s1: { address: ${be} }
`;
}

async function withTls(
  fn: (ca: TestCa, px: TestProxy, be: RawBackend) => Promise<void>,
): Promise<void> {
  const ca = await makeCa();
  const be = new RawBackend(echoHead);
  let px: TestProxy | null = null;
  try {
    const local = await ca.issue("local", ["localhost", "127.0.0.1"]);
    const other = await ca.issue("other", ["other.test"]);
    const wild = await ca.issue("wild", ["*.wild.test"]);
    px = await startTestProxy(yaml(be.address, [local.pem, other.pem, wild.pem]));
    await fn(ca, px, be);
  } finally {
    await px?.stop();
    await be.close();
    await ca.remove();
  }
}

/** The subject CN curl saw (from -v). */
function subject(err: string): string {
  return /subject: CN\s*=\s*([^\n;,]+)/.exec(err)?.[1].trim() ?? "";
}

Deno.test("TLS: curl against the test CA; ALPN http/1.1 even when h2 is offered; ssl_fc in rules", async () => {
  await withTls(async (ca, px, be) => {
    const r = await curl([
      "-v",
      "--http2",
      "--cacert",
      ca.caFile,
      `https://localhost:${px.port}/x?y`,
    ]);
    assertEquals(r.code, 0, r.err);
    match(r.err, /ALPN: server accepted http\/1\.1|ALPN, server accepted to use http\/1\.1/);
    match(r.err, /< HTTP\/1\.1 200/);
    const head = be.received[0].head;
    assert(head.startsWith("GET /x?y HTTP/1.1\r\n"), head);
    assert(head.includes("x-forwarded-proto: https\r\n"), head);
    assert(head.includes("x-sni: localhost\r\n"), head);
    // by IP address: the certificate's IP name, no SNI
    const ip = await curl(["--cacert", ca.caFile, `https://127.0.0.1:${px.port}/`]);
    assertEquals(ip.code, 0, ip.err);
    assert(be.received[1].head.includes("x-sni: \r\n"), be.received[1].head);
  });
});

Deno.test("TLS: a Deno client (fetch and Deno.connectTls) with the CA; keep-alive over TLS", async () => {
  await withTls(async (ca, px) => {
    const client = Deno.createHttpClient({ caCerts: [ca.caPem], http2: false });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`https://localhost:${px.port}/k${i}`, { client });
        assertEquals(r.status, 200);
        match(await r.text(), new RegExp(`^GET /k${i} HTTP/1.1`));
      }
    } finally {
      client.close();
    }
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: px.port,
      caCerts: [ca.caPem],
      alpnProtocols: ["h2", "http/1.1"],
    });
    try {
      const hs = await conn.handshake();
      assertEquals(hs.alpnProtocol, "http/1.1");
      await conn.write(new TextEncoder().encode("GET /raw HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 OK\r\n/);
    } finally {
      conn.close();
    }
  });
});

Deno.test("TLS: SNI chooses the certificate (exact, wildcard), else the first one", async () => {
  await withTls(async (ca, px) => {
    const at = (name: string) => ["--resolve", `${name}:${px.port}:127.0.0.1`];
    const cases: [string, string, number][] = [
      ["localhost", "localhost", 0],
      ["other.test", "other.test", 0],
      ["a.wild.test", "*.wild.test", 0],
      // no certificate for it: the first one (localhost), which the client refuses
      ["unknown.test", "localhost", 60],
      // a wildcard covers one label only
      ["a.b.wild.test", "localhost", 60],
    ];
    for (const [name, cn, code] of cases) {
      const r = await curl([
        "-v",
        ...at(name),
        "--cacert",
        ca.caFile,
        `https://${name}:${px.port}/`,
      ]);
      assertEquals(r.code, code, `${name}: ${r.err}`);
      assertEquals(subject(r.err), cn, name);
    }
  });
});

Deno.test("TLS: plain HTTP and garbage on the TLS port are closed and logged <BADREQ> PR--; a silent client times out cR--", async () => {
  await withTls(async (_ca, px, be) => {
    for (const bytes of ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\x16\x03\x01garbage\r\n\r\n"]) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: px.port });
      await c.write(new TextEncoder().encode(bytes));
      const buf = new Uint8Array(1024);
      // closed without an HTTP answer (rustls may send a TLS alert first)
      let text = "";
      for (let i = 0; i < 10; i++) {
        const n = await c.read(buf).catch(() => null);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      c.close();
      assert(!text.includes("HTTP/1.1"), text);
    }
    // A client that never starts its handshake: given up after timeout http-request (1s).
    // (Deno keeps the TCP socket of a TLS connection closed mid-handshake open until the
    // client leaves, so the test closes it once the record is there.)
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: px.port });
    const t0 = performance.now();
    await px.waitLogs(3);
    const waited = performance.now() - t0;
    silent.close();
    assert(waited > 800, `given up after ${waited} ms`);
    const logs = await px.waitLogs(3);
    assertEquals(logs.map((l) => [l.status, l.termination]), [[-1, "PR--"], [-1, "PR--"], [
      -1,
      "cR--",
    ]]);
    assertEquals(be.received.length, 0);
    // still serving
    const r = await curl(["-k", `https://127.0.0.1:${px.port}/after`]);
    assertEquals(r.code, 0, r.err);
  });
});

async function problems(text: string, file = "t.yaml"): Promise<string[]> {
  try {
    const { warnings } = await loadConfigText(text, file);
    return warnings.map((d) => `${d.line}:${d.col} ${d.severity} ${d.message}`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.message}`);
  }
}

Deno.test("TLS config: missing file, no key, mismatched key, not PEM are errors at the crt value; expired is a warning", async () => {
  const ca = await makeCa();
  try {
    const good = await ca.issue("good", ["localhost"]);
    const other = await ca.issue("other", ["other.test"]);
    const expired = await ca.issue("old", ["old.test"], { days: -1 });
    // the key in a .key file beside the certificate is found
    assertEquals(await problems(yaml("127.0.0.1:1", [good.crt])), []);
    const mismatched = `${ca.dir}/mismatched.pem`;
    await Deno.writeTextFile(
      mismatched,
      await Deno.readTextFile(good.crt) + await Deno.readTextFile(other.key),
    );
    const lonely = `${ca.dir}/lonely.crt`;
    await Deno.copyFile(other.crt, lonely);
    const notPem = `${ca.dir}/junk.pem`;
    await Deno.writeTextFile(notPem, "hello\n");
    const check = async (file: string, want: RegExp, severity = "error") => {
      const p = await problems(yaml("127.0.0.1:1", [file]));
      assertEquals(p.length, 1, p.join("\n"));
      // line 9 is the bind's ssl line; the crt value starts at column 22
      match(p[0], new RegExp(`^9:22 ${severity} `), p[0]);
      match(p[0], want);
    };
    await check(`${ca.dir}/missing.pem`, /certificate '.*missing\.pem' does not exist/);
    await check(lonely, /has no private key/);
    await check(mismatched, /the private key does not match the certificate/);
    await check(notPem, /holds no PEM certificate/);
    await check(expired.pem, /the certificate expired on /, "warning");
    // a directory: every certificate in it
    const dir = `${ca.dir}/many`;
    await Deno.mkdir(dir);
    await Deno.copyFile(good.pem, `${dir}/a.pem`);
    await Deno.copyFile(other.pem, `${dir}/b.pem`);
    await Deno.copyFile(other.key, `${dir}/b.key`); // extra files are skipped
    const { config } = await loadConfigText(yaml("127.0.0.1:1", [dir]), "t.yaml");
    const ssl = config.frontends[0].binds[0].ssl!;
    assertEquals(ssl.certs.map((c) => c.names), [["localhost"], ["other.test"]]);
  } finally {
    await ca.remove();
  }
});

Deno.test("TLS config: ssl-min-ver below TLSv1.2 is an error that says why", async () => {
  const ca = await makeCa();
  try {
    const good = await ca.issue("good", ["localhost"]);
    const cfg = `defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
frontend f
  bind 127.0.0.1:0 ssl crt ${good.pem} ssl-min-ver TLSv1.0
  default_backend b
backend b
  server s1 127.0.0.1:1
`;
    const p = await problems(cfg, "t.cfg");
    assertEquals(p.length, 1, p.join("\n"));
    match(p[0], /^7:\d+ error .*TLSv1\.0 is not available: .*TLSv1\.2 and TLSv1\.3 only/);
    const ok = await problems(cfg.replace("TLSv1.0", "TLSv1.2 ssl-max-ver TLSv1.3"), "t.cfg");
    assertEquals(ok, []);
  } finally {
    await ca.remove();
  }
});

Deno.test("TLS config: crt-base prefixes relative crt paths (not absolute ones); ca-base/crt-base alone are accepted", async () => {
  const ca = await makeCa();
  try {
    await ca.issue("good", ["localhost"]);
    const other = await ca.issue("other", ["other.test"]);
    const cfg = (binds: string) =>
      `global
  ca-base /etc/ssl/certs
  crt-base ${ca.dir}
defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
frontend f
${binds}
  default_backend b
backend b
  server s1 127.0.0.1:1
`;
    // no crt at all: crt-base changes nothing
    assertEquals(await problems(cfg("  bind 127.0.0.1:0"), "t.cfg"), []);
    const text = cfg(`  bind 127.0.0.1:0 ssl crt good.pem crt ${other.pem}`);
    const { config } = await loadConfigText(text, "t.cfg");
    const ssl = config.frontends[0].binds[0].ssl!;
    assertEquals(ssl.crt.map((c) => c.path), [`${ca.dir}/good.pem`, other.pem]);
    assertEquals(ssl.certs.map((c) => c.names), [["localhost"], ["other.test"]]);
    // a missing relative file is named with its full path, at the crt value
    const p = await problems(cfg("  bind 127.0.0.1:0 ssl crt nope.pem"), "t.cfg");
    assertEquals(p.length, 1, p.join("\n"));
    match(p[0], new RegExp(`^10:\\d+ error .*'${ca.dir}/nope\\.pem' does not exist`), p[0]);
    // crt-base needs its directory
    const bad = await problems(
      cfg("  bind 127.0.0.1:0").replace(`crt-base ${ca.dir}`, "crt-base"),
      "t.cfg",
    );
    match(bad.join("\n"), /^3:3 error 'crt-base' expects a directory path/);
  } finally {
    await ca.remove();
  }
});
