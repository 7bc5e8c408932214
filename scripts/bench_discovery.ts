// How many DNS discovery changes per second wtproxy absorbs under load without a failed
// request (issue 16). A real dnsmasq serves `wt.test` with 3 of 6 live backends
// (127.0.0.2..127.0.0.7, same port); wtproxy follows it with `server-template wt 3 wt.test`
// (checked, rise 1) and `hold valid 10ms`; wrk sends session-less requests while the script
// swaps one address of the answer for a spare one at increasing rates. Each step reports the
// requests, the failed ones (non-2xx or socket errors) and the address changes wtproxy applied.
//
//   deno task bench:discovery [--seconds 8] [--rates 1,2,5,10,20,50] [--connections 20]

import { parseArgs } from "node:util";
import { freePort, Processes, startTaskV8Flags, waitPort } from "./lib.ts";
import { Dnsmasq } from "../tests/discovery/dnsmasq.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    rates: { type: "string", default: "1,2,5,10,20,50" },
    connections: { type: "string", default: "20" },
  },
});
const seconds = Number(args.values.seconds);
const rates = args.values.rates!.split(",").map(Number);
const connections = Number(args.values.connections);

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const procs = new Processes();
const backendPort = freePort();
const backends = IPS.map((hostname) =>
  Deno.serve({ hostname, port: backendPort, onListen() {} }, () => new Response(`ok ${hostname}\n`))
);
const served = IPS.slice(0, 3);
const dns = await Dnsmasq.start({ a: { "wt.test": served } });
const port = freePort();
const dir = await Deno.makeTempDir({ prefix: "wtproxy-bench-dns-" });
const cfg = `${dir}/wtproxy.yaml`;
await Deno.writeTextFile(
  cfg,
  `
frontends:
  fe: { bind: "127.0.0.1:${port}", default_backend: app, timeouts: { client: 10s } }
backends:
  app:
    timeouts: { connect: 1s, server: 10s }
    retries: 3
    options: { redispatch: true, http-keep-alive: true }
    servers:
      wt:
        address: "wt.test:${backendPort}"
        template: 3
        resolvers: dns
        resolve-prefer: ipv4
        init-addr: none
        check: true
        inter: 200ms
        fastinter: 50ms
        rise: 1
resolvers:
  dns:
    nameservers: { ns1: "127.0.0.1:${dns.port}" }
    hold: { valid: 10ms, timeout: 30s, nx: 30s }
    timeouts: { retry: 500ms, resolve: 50ms }
`,
);
const v8 = startTaskV8Flags();
// The proxy's events (stdout) are counted: "changed its IP from" = one applied change.
const proxy = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", ...(v8 ? [`--v8-flags=${v8}`] : []), MAIN, "-f", cfg],
  stdout: "piped",
  stderr: "piped",
}).spawn();
let changes = 0;
(async () => {
  const dec = new TextDecoderStream();
  let buf = "";
  for await (const chunk of proxy.stdout!.pipeThrough(dec)) {
    buf += chunk;
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const l of lines) {
      if (l.includes("changed its IP from")) changes++;
      if (Deno.env.get("BENCH_DEBUG")) console.log(`${performance.now().toFixed(0)} ${l}`);
    }
  }
})();
proxy.stderr!.pipeTo(new WritableStream()).catch(() => {});

async function wrk(secs: number) {
  const out = new TextDecoder().decode(
    (await new Deno.Command("wrk", {
      args: ["-t1", `-c${connections}`, `-d${secs}s`, `http://127.0.0.1:${port}/`],
      stdout: "piped",
      stderr: "piped",
    }).output()).stdout,
  );
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  if (Deno.env.get("BENCH_DEBUG")) console.log(out);
  return { total, failed: non2xx + errors };
}

try {
  await waitPort(port);
  // Wait until the three first servers are in (the proxy answers 200).
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
    const ok = r?.status === 200;
    await r?.body?.cancel();
    if (ok) break;
    await sleep(50);
  }
  await wrk(1); // warm-up
  console.log(
    `wrk -t1 -c${connections}, ${seconds} s per step; 3 slots, 6 live backends, hold valid 10ms\n`,
  );
  console.log("asked/s  applied/s  requests  failed");
  const results = [];
  let spare = 3;
  for (const rate of rates) {
    const before = changes;
    let running = true;
    const swapper = (async () => {
      const every = 1000 / rate;
      let next = performance.now();
      let slot = 0;
      while (running) {
        // One address of the answer is replaced by a spare one (a pod replaced by another).
        const out = served[slot];
        served[slot] = IPS[spare];
        spare = IPS.indexOf(out);
        slot = (slot + 1) % served.length;
        await dns.set({ a: { "wt.test": served } });
        next += every;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    const w = await wrk(seconds);
    running = false;
    await swapper;
    await sleep(300);
    const applied = (changes - before) / seconds;
    results.push({ rate, applied, ...w });
    console.log(
      `${String(rate).padStart(6)}  ${applied.toFixed(1).padStart(9)}  ${
        String(w.total).padStart(8)
      }  ${String(w.failed).padStart(6)}`,
    );
  }
  const clean = results.filter((r) => r.failed === 0);
  const best = clean.length ? Math.max(...clean.map((r) => r.applied)) : 0;
  console.log(`\nhighest rate with no failed request: ${best.toFixed(1)} applied changes/s`);
} finally {
  await procs.kill(proxy);
  for (const b of backends) await b.shutdown();
  await dns.stop();
  await Deno.remove(dir, { recursive: true });
}
