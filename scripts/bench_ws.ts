// deno task bench:ws [--quick] [--duration SECONDS] [--connections N] [--idle N]
//
// WebSocket relay through wtproxy vs HAProxy (single thread, `timeout tunnel`), all on
// 127.0.0.1, echo backend = Deno (its own process), load client = this process:
//   1. 64-byte echo on 50 connections, each keeping a window of messages in flight;
//      messages/s (echoes received), runs interleaved HAProxy / wtproxy.   goal: >= 0.7x
//   2. RSS of the wtproxy process holding N idle WebSockets (default 10 000, capped by the
//      open-file limit: the proxy needs two sockets per tunnel).          goal: <= 250 MB
// Internal modes: `--serve CONFIG` (wtproxy), `--backend PORT` (echo backend).

import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load.ts";
import { startRuntime } from "../src/runtime.ts";
import { cpuSeconds, freePort, Processes, rssMb, startTaskV8Flags, waitPort } from "./lib.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    connections: { type: "string", default: "50" },
    window: { type: "string", default: "32" },
    idle: { type: "string", default: "10000" },
    only: { type: "string" }, // "echo" or "idle"
    rounds: { type: "string" },
    serve: { type: "string" },
    backend: { type: "string" },
  },
});

const READY = () => console.log("ready");

if (args.values.serve) {
  const { config } = await loadConfig(args.values.serve);
  const rt = await startRuntime(config, { logging: false, admin: false, health: false });
  READY();
  // The benchmark asks for a full GC before reading RSS (spawned with --expose-gc).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    Deno.addSignalListener("SIGUSR2", () => {
      gc();
      if (Deno.env.get("BENCH_WS_MEM")) {
        const m = Deno.memoryUsage();
        const mb = (n: number) => (n / 1048576).toFixed(1);
        console.error(
          `serve: rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} MB`,
        );
      }
    });
  }
  Deno.addSignalListener("SIGTERM", async () => {
    await rt.stop(500);
    Deno.exit(0);
  });
  await new Promise(() => {});
}

if (args.values.backend) {
  Deno.serve(
    { hostname: "127.0.0.1", port: Number(args.values.backend), onListen: READY },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
      socket.binaryType = "arraybuffer";
      socket.onmessage = (e) => socket.send(e.data);
      socket.onerror = () => {};
      return response;
    },
  );
  await new Promise(() => {});
}

const quick = args.values.quick!;
const duration = Number(args.values.duration ?? (quick ? 3 : 6));
const connections = Number(args.values.connections);
const windowSize = Number(args.values.window);
const rounds = Number(args.values.rounds ?? (quick ? 1 : 2));
const procs = new Processes();
const spawn = (cmd: string, argv: string[]) => procs.spawn(cmd, argv);
const kill = (child: Deno.ChildProcess) => procs.kill(child);
const tmp = await Deno.makeTempDir({ prefix: "wtproxy-bench-ws-" });

function openWs(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?wtd=wt1bench&request=ws`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
}

/** 64-byte echo with `windowSize` messages in flight per connection; echoes/s, and the
 * proxy's CPU share (% of one core) while measuring. */
async function echoRate(port: number, proxyPid: number): Promise<[number, number]> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => openWs(port)));
  const msg = new Uint8Array(64).fill(97);
  let count = 0;
  let running = true;
  for (const ws of sockets) {
    ws.onmessage = () => {
      count++;
      if (running) ws.send(msg);
    };
    for (let i = 0; i < windowSize; i++) ws.send(msg);
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const c0 = count;
  const t0 = performance.now();
  const cpu0 = cpuSeconds(proxyPid);
  await new Promise((r) => setTimeout(r, duration * 1000));
  const secs = (performance.now() - t0) / 1000;
  const rate = (count - c0) / secs;
  const cpu = ((cpuSeconds(proxyPid) - cpu0) / secs) * 100;
  running = false;
  await Promise.all(sockets.map((ws) =>
    new Promise((r) => {
      ws.onclose = r;
      ws.close();
    })
  ));
  return [rate, cpu];
}

async function openFileLimit(): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" })
    .output();
  const v = new TextDecoder().decode(out.stdout).trim();
  return v === "unlimited" ? 1 << 20 : Number(v);
}

const backendPort = freePort();
const wtPort = freePort();
const haPort = freePort();
const self = new URL(import.meta.url).pathname;

const yaml = `${tmp}/wtproxy.yaml`;
Deno.writeTextFileSync(
  yaml,
  `global: { maxconn: 100000 }
defaults:
  mode: http
  maxconn: 100000
  timeouts: { connect: 5s, client: 50s, server: 50s, tunnel: 1h }
frontends:
  f:
    bind: ["127.0.0.1:${wtPort}"]
    default_backend: b
backends:
  b:
    servers:
      s1: { address: 127.0.0.1:${backendPort} }
`,
);
const cfg = `${tmp}/haproxy.cfg`;
Deno.writeTextFileSync(
  cfg,
  `global
  maxconn 4000
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 50s
  timeout server 50s
  timeout tunnel 1h
frontend f
  bind 127.0.0.1:${haPort}
  default_backend b
backend b
  server s1 127.0.0.1:${backendPort}
`,
);

const results: string[] = [];
try {
  spawn(Deno.execPath(), ["run", "-A", self, "--backend", String(backendPort)]);
  await waitPort(backendPort);
  const only = args.values.only;
  let wt = spawn(Deno.execPath(), ["run", "-A", self, "--serve", yaml]);
  await waitPort(wtPort);
  let haproxy: Deno.ChildProcess | null = null;
  try {
    haproxy = spawn("haproxy", ["-db", "-f", cfg]);
    await waitPort(haPort);
  } catch (err) {
    console.error(`HAProxy unavailable (${err}); wtproxy figures only`);
    haproxy = null;
  }

  if (only !== "idle") {
    console.log(
      `echo: 64-byte messages, ${connections} connections, window ${windowSize}, ${duration} s x ${rounds} rounds`,
    );
    const wtRates: number[] = [];
    const haRates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (haproxy) {
        const [h, cpu] = await echoRate(haPort, haproxy.pid);
        haRates.push(h);
        console.log(`  HAProxy  ${h.toFixed(0).padStart(8)} msg/s   proxy CPU ${cpu.toFixed(0)}%`);
      }
      const [w, cpu] = await echoRate(wtPort, wt.pid);
      wtRates.push(w);
      console.log(
        `  wtproxy  ${w.toFixed(0).padStart(8)} msg/s   proxy CPU ${cpu.toFixed(0)}%, RSS ${
          rssMb(wt.pid).toFixed(0)
        } MB`,
      );
    }
    const best = (a: number[]) => Math.max(...a);
    if (haproxy) {
      const ratio = best(wtRates) / best(haRates);
      results.push(
        `echo 64 B x ${connections}: wtproxy ${best(wtRates).toFixed(0)} msg/s, HAProxy ${
          best(haRates).toFixed(0)
        } msg/s, ratio ${ratio.toFixed(2)} (goal >= 0.7)`,
      );
      await kill(haproxy);
      haproxy = null;
    } else {
      results.push(`echo 64 B x ${connections}: wtproxy ${best(wtRates).toFixed(0)} msg/s`);
    }
  }

  if (only !== "echo") {
    // Idle tunnels, on a fresh wtproxy process; each tunnel costs the proxy two sockets.
    if (haproxy) await kill(haproxy);
    await kill(wt);
    // The start task's V8 flags (what users run), plus --expose-gc for the RSS reading.
    const flags = ["--expose-gc", startTaskV8Flags()].filter(Boolean).join(",");
    wt = spawn(Deno.execPath(), ["run", "-A", `--v8-flags=${flags}`, self, "--serve", yaml]);
    await waitPort(wtPort);
    const fullGc = async () => {
      wt.kill("SIGUSR2");
      await new Promise((r) => setTimeout(r, 1000));
    };
    await fullGc();
    const limit = await openFileLimit();
    const wanted = Number(args.values.idle);
    const n = Math.min(wanted, Math.floor((limit - 300) / 2));
    if (n < wanted) {
      console.log(`idle: open-file limit ${limit}: ${n} tunnels instead of ${wanted}`);
    }
    const before = rssMb(wt.pid);
    const idle: WebSocket[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i += 250) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(250, n - i) }, () => openWs(wtPort)),
      );
      idle.push(...batch);
    }
    const opened = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const afterNoGc = rssMb(wt.pid);
    await fullGc();
    const after = rssMb(wt.pid);
    console.log(
      `idle: RSS ${afterNoGc.toFixed(0)} MB before a full GC, ${after.toFixed(0)} MB after`,
    );
    const per = ((after - before) * 1024) / n;
    console.log(
      `idle: ${n} WebSockets opened in ${opened.toFixed(1)} s; proxy RSS ${
        before.toFixed(0)
      } MB -> ${after.toFixed(0)} MB (${per.toFixed(1)} KB per tunnel)`,
    );
    results.push(
      `idle: ${n} WebSockets through wtproxy: RSS ${after.toFixed(0)} MB (${
        per.toFixed(1)
      } KB/tunnel; ~${(before + (per * 10000) / 1024).toFixed(0)} MB at 10 000; goal <= 250 MB)`,
    );
    for (const ws of idle) ws.close();
    await new Promise((r) => setTimeout(r, 1000));
  }
} finally {
  await procs.killAll();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}
console.log("\n" + results.join("\n"));
Deno.exit(0);
