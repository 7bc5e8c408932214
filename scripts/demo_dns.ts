// `deno task demo:dns`: DNS discovery to watch on the stats page. A dnsmasq on 127.0.0.1 serves
// the SRV name `_wt._tcp.wt.test`; Wt-like servers named wt-0, wt-1, wt-2 (prefixes wt0, wt1,
// wt2, on 127.0.0.2..127.0.0.4) are added to it one by one, then wt-1 is taken out and put
// back, in a loop; wtproxy follows with `template: 4` and `prefix-from: dns-label`.
// Open the printed stats page and the proxy's page; Ctrl-C ends everything (dnsmasq too).
import { loadConfigText } from "../src/config/load.ts";
import { startRuntime } from "../src/runtime.ts";
import { startWtServer, type WtServer } from "../src/demo/wtserver.ts";
import { Dnsmasq } from "../tests/discovery/dnsmasq.ts";

const SRV = "_wt._tcp.wt.test";
const PODS = [0, 1, 2].map((i) => ({ name: `wt-${i}.wt.test`, ip: `127.0.0.${i + 2}` }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const servers: WtServer[] = [];
for (const [i, p] of PODS.entries()) {
  servers.push(await startWtServer({ prefix: `wt${i}`, hostname: p.ip, port: 9090 }));
}
const dns = await Dnsmasq.start({});
const { config } = await loadConfigText(
  `
frontends:
  wt: { bind: "127.0.0.1:8080", default_backend: app, timeouts: { client: 50s } }
backends:
  app:
    timeouts: { connect: 5s, server: 50s }
    options: { redispatch: true }
    affinity: { url_param: wtd }
    servers:
      wt:
        address: ${SRV}
        template: 4
        resolvers: dns
        resolve-prefer: ipv4
        init-addr: none
        prefix-from: dns-label
        check: true
        inter: 1s
resolvers:
  dns:
    nameservers: { ns1: "127.0.0.1:${dns.port}" }
    hold: { valid: 1s }
admin: { bind: "127.0.0.1:9100" }
`,
  "demo-dns.yaml",
);
const rt = await startRuntime(config, { nbthread: 1 });
console.log(`demo: dnsmasq on 127.0.0.1:${dns.port} serves ${SRV}`);
console.log("demo: proxy on http://127.0.0.1:8080/  stats on http://127.0.0.1:9100/stats");

let stopping = false;
const done = Promise.withResolvers<void>();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    stopping = true;
    done.resolve();
  });
}

/** The SRV answer is the given pods (A records for all of them). */
async function publish(pods: typeof PODS) {
  await dns.set({
    a: Object.fromEntries(PODS.map((p) => [p.name, [p.ip]])),
    srv: { [SRV]: pods.map((p) => [p.name, 9090] as [string, number]) },
  });
  console.log(`demo: DNS now lists ${pods.map((p) => p.name).join(", ") || "nothing"}`);
}

const timeline: [number, typeof PODS][] = [
  [0, []],
  [6000, PODS.slice(0, 1)],
  [6000, PODS.slice(0, 2)],
  [6000, PODS],
  [8000, [PODS[0], PODS[2]]],
  [8000, PODS],
];
try {
  for (let round = 0; !stopping; round++) {
    for (const [wait, pods] of timeline.slice(round === 0 ? 0 : 4)) {
      await Promise.race([sleep(wait), done.promise]);
      if (stopping) break;
      await publish(pods);
    }
  }
} finally {
  await rt.stop(1000);
  for (const s of servers) await s.stop();
  await dns.stop();
}
