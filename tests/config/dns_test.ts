// DNS discovery keywords in both formats: the `resolvers` section, `server-template` (YAML
// `template`), resolvers / resolve-prefer / init-addr / prefix-from on servers and
// default-server; .cfg -> YAML -> model gives the model .cfg gives; bad input names its place.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseHaproxy } from "../../src/config/haproxy.ts";
import { toYaml } from "../../src/config/to_yaml.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { type Config, ConfigError, type Diagnostic } from "../../src/config/model.ts";

const CFG = `resolvers dns
  nameserver ns1 10.96.0.10:53
  nameserver ns2 udp@127.0.0.1:5353
  nameserver ns3 [::1]:53
  hold valid 5s
  hold nx 10s
  hold obsolete 2s
  resolve_retries 2
  timeout resolve 1s
  timeout retry 500ms

defaults
  mode http
  timeout connect 5s
  timeout client 50s
  timeout server 50s

frontend fe
  bind :8080
  default_backend app

backend app
  default-server init-addr none resolvers dns check
  server-template wt 3 _wt._tcp.wt.default.svc.cluster.local resolve-prefer ipv4
  server-template web 2-3 web.example.org:8080
  server fixed wt.example.org:8080 resolvers dns init-addr last,libc,10.0.0.9
  server ip 10.0.0.1:8080
`;

function comparable(c: Config): unknown {
  return JSON.parse(JSON.stringify(
    c,
    (k, v) =>
      ["loc", "file", "format", "warnings"].includes(k) || k.endsWith("Loc") ? undefined : v,
  ));
}

function where(ds: Diagnostic[]): string[] {
  return ds.map((d) => `${d.line}:${d.col} ${d.severity}: ${d.message}`);
}

async function errorsOf(text: string, file = "t.cfg"): Promise<string[]> {
  try {
    await loadConfigText(text, file);
  } catch (err) {
    if (err instanceof ConfigError) {
      return where(err.diagnostics.toSorted((a, b) => a.line - b.line || a.col - b.col));
    }
    throw err;
  }
  return [];
}

Deno.test("resolvers and server-template: the model", async () => {
  const { config } = await loadConfigText(CFG, "t.cfg");
  const r = config.resolvers![0];
  assertEquals(r.name, "dns");
  assertEquals(r.nameservers.map((n) => `${n.name} ${n.host} ${n.port}`), [
    "ns1 10.96.0.10 53",
    "ns2 127.0.0.1 5353",
    "ns3 ::1 53",
  ]);
  assertEquals(r.hold, {
    valid: 5000,
    nx: 10000,
    timeout: 30000,
    refused: 30000,
    other: 30000,
    obsolete: 2000,
  });
  assertEquals([r.resolveRetries, r.timeoutResolve, r.timeoutRetry], [2, 1000, 500]);
  const app = config.backends[0];
  assertEquals(app.servers.map((s) => s.name), [
    "wt1",
    "wt2",
    "wt3",
    "web2",
    "web3",
    "fixed",
    "ip",
  ]);
  const wt2 = app.servers[1];
  assertEquals(wt2.check, true);
  assertEquals(wt2.dns, {
    resolvers: "dns",
    fqdn: "_wt._tcp.wt.default.svc.cluster.local",
    srv: true,
    resolvePrefer: "ipv4",
    initAddr: ["none"],
    prefixFrom: null,
    template: { prefix: "wt", index: 2, count: 3 },
    resolversLoc: wt2.dns!.resolversLoc,
  });
  assertEquals(app.servers[3].dns!.template, { prefix: "web", index: 2, count: 2 });
  assertEquals(app.servers[3].address.port, 8080);
  assertEquals(app.servers[3].dns!.resolvePrefer, "ipv6"); // HAProxy's default
  assertEquals(app.servers[5].dns!.initAddr, ["last", "libc", "10.0.0.9"]);
  // An IP address is not resolved, whatever default-server says.
  assertEquals(app.servers[6].dns, null);
});

Deno.test("resolvers and server-template: --to-yaml gives the same model", async () => {
  const tree = parseHaproxy(CFG, "t.cfg").tree;
  const yaml = toYaml(tree);
  assert(yaml.includes("resolvers:\n  dns:\n    nameservers:\n      ns1: 10.96.0.10:53"), yaml);
  assert(
    yaml.includes(
      "      wt:\n        address: _wt._tcp.wt.default.svc.cluster.local\n        template: 3",
    ),
    yaml,
  );
  assert(yaml.includes(`template: 2-3`), yaml);
  const a = await loadConfigText(CFG, "t.cfg");
  const b = await loadConfigText(yaml, "t.yaml");
  assertEquals(comparable(b.config), comparable(a.config));
});

Deno.test("YAML: prefix-from, template, resolvers defaults", async () => {
  const { config } = await loadConfigText(
    `
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: app, timeouts: { client: 5s } }
backends:
  app:
    timeouts: { connect: 1s, server: 5s }
    affinity: { url_param: wtd }
    servers:
      wt: { address: _wt._tcp.wt.test, template: 4, resolvers: dns, prefix-from: dns-label }
resolvers:
  dns: { parse-resolv-conf: true }
`,
    "t.yaml",
  );
  const s = config.backends[0].servers;
  assertEquals(s.length, 4);
  assertEquals(s[0].dns!.prefixFrom, "dns-label");
  assertEquals(s[0].dns!.initAddr, ["last", "libc", "none"]);
  assertEquals(config.resolvers![0].parseResolvConf, true);
  assertEquals(config.resolvers![0].hold.valid, 10000);
});

Deno.test(".cfg: bad resolvers and server-template lines name their place", async () => {
  const errs = await errorsOf(`resolvers dns
  nameserver ns1
  nameserver ns1 10.0.0.1:53
  nameserver ns1 10.0.0.2:53
  hold forever 1s
  hold valid
  timeout query 1s
  resolve_retries
  accepted_payload_size 100
  bogus 1
resolvers dns
defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend fe
  bind :8080
  default_backend app
backend app
  server-template wt
  server-template wt x _a._tcp.b resolvers dns
  server-template wt 2 _a._tcp.b resolvers other
  server s1 _a._tcp.b
`);
  assertEquals(errs, [
    "2:3 error: 'nameserver' expects <name> and <addr>[:<port>] as arguments.",
    "4:14 error: nameserver 'ns1' has same name as another nameserver (declared at t.cfg:3).",
    "5:8 error: 'hold' unknown <event>: 'forever', expects either 'nx', 'timeout', 'valid', 'other', 'refused' or 'obsolete'.",
    "6:3 error: 'hold' expects an <event> and a <time> as arguments.",
    "7:3 error: 'timeout' expects 'retry' or 'resolve' and <time> as arguments.",
    "8:3 error: 'resolve_retries' expects <nb> as argument.",
    "9:25 error: resolvers.dns.accepted_payload_size: 100 is out of range (512 to 65535)",
    "10:3 error: unknown keyword 'bogus' in 'resolvers' section",
    "11:11 error: resolvers 'dns' has the same name as another resolvers section declared at t.cfg:1.",
    "21:3 error: 'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.",
    "22:22 error: 'server-template wt': invalid range 'x' (a number or N-M).",
    "23:44 error: server 'app/wt': unable to find required resolvers 'other'.",
    "24:13 error: 'server s1 _a._tcp.b' : an SRV name needs `resolvers` (the DNS servers that follow it)",
  ]);
});
