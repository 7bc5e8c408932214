// What logging costs in req/s: the same proxy with access logging off vs on (httplog to UDP
// syslog, the recipe's two targets), loaded by wrk. The backend and the syslog catcher run in
// a child process so the proxy process is alone with its work.
//
//   deno run -A scripts/bench_log.ts [seconds=5] [connections=32] [rounds=3] [inFlight=1]
//
// Needs `wrk` on PATH. Prints req/s per round and the loss in percent.

import dgram from "node:dgram";
import process from "node:process";
import type { Config } from "../src/config/model.ts";
import { startRuntime } from "../src/runtime.ts";
import {
  backend,
  bind,
  config as buildConfig,
  frontend,
  server,
  settings,
  udpTarget,
} from "../tests/helpers/config.ts";

if (Deno.args[0] === "--helper") {
  // Child: a tiny backend and a UDP catcher; prints their ports, then the datagram count on EOF.
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hello from the backend\n"),
  );
  const sock = dgram.createSocket("udp4");
  let n = 0;
  sock.on("message", () => n++);
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  console.log(JSON.stringify({ backend: backend.addr.port, syslog: sock.address().port }));
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  console.log(JSON.stringify({ datagrams: n }));
  Deno.exit(0);
}

const seconds = Number(Deno.args[0] ?? 5);
const connections = Number(Deno.args[1] ?? 32);
const rounds = Number(Deno.args[2] ?? 3);
/** Sends in flight per target (LoggingOptions.inFlight; 1 = in order, the default). */
const inFlight = Number(Deno.args[3] ?? 1);

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL(import.meta.url).pathname, "--helper"],
  stdin: "piped",
  stdout: "piped",
}).spawn();
const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let buf = "";
async function readLine(): Promise<string> {
  while (!buf.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("helper exited");
    buf += value;
  }
  const i = buf.indexOf("\n");
  const line = buf.slice(0, i);
  buf = buf.slice(i + 1);
  return line;
}
const ports = JSON.parse(await readLine()) as { backend: number; syslog: number };

const loc = { file: "bench", line: 1, col: 1 };
function config(log: boolean): Config {
  const targets = log
    ? [
      udpTarget(ports.syslog, "local0", "debug", { loc }),
      udpTarget(ports.syslog, "local1", "notice", { loc }),
    ]
    : [];
  const s = settings({
    options: {
      httplog: true,
      dontlognull: true,
      forwardfor: { except: null, header: "x-forwarded-for", ifNone: false },
    },
    log: targets,
  });
  return buildConfig(
    [frontend([], [], "bck1", { name: "wt", binds: [bind(0, loc)], settings: s, loc })],
    [backend("bck1", [server("srv1", ports.backend, { loc })], { settings: s, loc })],
    { file: "bench", global: { maxconn: 4096, log: targets, logTag: "wtproxy" } },
  );
}

// Two proxies side by side (runs alternate, the idle one costs nothing).
const off = await startRuntime(config(false), { health: false, admin: false, logging: false });
const on = await startRuntime(config(true), {
  health: false,
  admin: false,
  logging: { inFlight },
});

/** req/s and the proxy process's CPU microseconds per request (robust on a busy machine). */
async function wrk(port: number): Promise<{ rps: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/?wtd=wt1abc`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = text.match(/Requests\/sec:\s+([\d.]+)/);
  if (!m) throw new Error(`wrk: ${text}${new TextDecoder().decode(out.stderr)}`);
  if (/Non-2xx/.test(text)) throw new Error(`wrk saw errors: ${text}`);
  const d = process.cpuUsage(cpu0);
  const total = Number(text.match(/(\d+) requests in/)?.[1] ?? 0);
  return { rps: Number(m[1]), cpu: (d.user + d.system) / Math.max(1, total) };
}

const results = { off: [] as number[], on: [] as number[] };
const cpu = { off: [] as number[], on: [] as number[] };
await wrk(off.listeners[0].port); // warm-up
await wrk(on.listeners[0].port);
for (let i = 0; i < rounds; i++) {
  const a = await wrk(off.listeners[0].port);
  const b = await wrk(on.listeners[0].port);
  results.off.push(a.rps);
  results.on.push(b.rps);
  cpu.off.push(a.cpu);
  cpu.on.push(b.cpu);
  console.log(
    `round ${i + 1}: logging off ${a.rps.toFixed(0)} req/s (${a.cpu.toFixed(1)} µs CPU/req), ` +
      `on ${b.rps.toFixed(0)} req/s (${b.cpu.toFixed(1)} µs CPU/req)`,
  );
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const mOff = median(results.off);
const mOn = median(results.on);
const cOff = median(cpu.off);
const cOn = median(cpu.on);
console.log(
  `median: off ${mOff.toFixed(0)} req/s, on ${mOn.toFixed(0)} req/s (loss ${
    ((1 - mOn / mOff) * 100).toFixed(1)
  } %); CPU per request off ${cOff.toFixed(1)} µs, on ${cOn.toFixed(1)} µs (loss at full CPU ${
    ((1 - cOff / cOn) * 100).toFixed(1)
  } %); dropped ${on.logging?.dropped() ?? 0}`,
);
await on.logging?.stop();
await child.stdin.close();
console.log(`syslog datagrams received: ${JSON.parse(await readLine()).datagrams}`);
await child.status;
// runtime.stop() is left out: see the report (Deno.serve abort after shutdown).
Deno.exit(0);
