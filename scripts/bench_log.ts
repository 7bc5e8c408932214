// What logging costs in req/s: the same proxy with access logging off vs on (httplog to UDP
// syslog, the recipe's two targets), loaded by wrk. The backend and the syslog catcher run in
// a child process so the proxy process is alone with its work.
//
//   deno run -A scripts/bench_log.ts [seconds=5] [connections=32] [rounds=5] [inFlight=1]
//                                    [senders=main,worker] [batchMs=1] [catcher=read|dgram|sink|socat]
//
// Needs `wrk` on PATH. Prints req/s and CPU µs per request (the proxy process, all threads:
// the sender worker included) per round, then medians and the loss against logging off.
// The machine is shared: trust medians over several rounds, and the spread printed with them.

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
  // The syslog catcher's CPU competes with the proxy on a small machine; a real syslogd is a
  // separate (C) program, often on another host. Modes: "read" (default): Deno.listenDatagram,
  // every datagram received and counted; "dgram": node:dgram (costs ~20 µs per datagram in
  // Deno 2.9, more than the proxy's whole logging); "sink": bound, never read (the kernel
  // queues, then discards); "socat": Debian's socat reads them (a C receiver, like syslogd).
  const mode = Deno.args[1] ?? "read";
  let n = 0;
  let port: number;
  let socat: Deno.ChildProcess | null = null;
  if (mode === "socat") {
    // A C receiver, as a real syslogd is: reads every datagram into /dev/null (not counted).
    const probe = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    socat = new Deno.Command("socat", {
      args: ["-u", `UDP-RECV:${port},bind=127.0.0.1`, "OPEN:/dev/null"],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    n = -1;
    await new Promise((r) => setTimeout(r, 300));
  } else if (mode === "dgram") {
    const sock = dgram.createSocket("udp4");
    sock.on("message", () => n++);
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    port = sock.address().port;
  } else {
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    port = (conn.addr as Deno.NetAddr).port;
    if (mode === "sink") n = -1;
    else {
      (async () => {
        for await (const _ of conn) n++;
      })();
    }
  }
  console.log(JSON.stringify({ backend: backend.addr.port, syslog: port }));
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  if (socat) {
    socat.kill("SIGTERM");
    await socat.status;
  }
  console.log(JSON.stringify({ datagrams: n }));
  Deno.exit(0);
}

const seconds = Number(Deno.args[0] ?? 5);
const connections = Number(Deno.args[1] ?? 32);
const rounds = Number(Deno.args[2] ?? 5);
/** Sends in flight per target (LoggingOptions.inFlight; 1 = in order, the default). */
const inFlight = Number(Deno.args[3] ?? 1);
/** Which senders to compare with logging off: "main,worker" (default), "worker", "main". */
const senders = (Deno.args[4] ?? "main,worker").split(",") as ("main" | "worker")[];
/** LoggingOptions.batchMs for the worker sender. */
const batchMs = Number(Deno.args[5] ?? 1);
/** Syslog catcher: "socat" (default when installed), "read", "dgram" or "sink" (see above). */
const catcher = Deno.args[6] ?? (haveSocat() ? "socat" : "read");

/** socat (Debian's) on PATH: the default receiver then, as cheap as a real syslogd. */
function haveSocat(): boolean {
  try {
    return new Deno.Command("socat", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL(import.meta.url).pathname, "--helper", catcher],
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

// Proxies side by side (runs rotate so each variant meets the same background noise; an
// idle proxy costs nothing): logging off, on with sends from the main thread, on with the
// sender worker.
const off = await startRuntime(config(false), { health: false, admin: false, logging: false });
const variants: { name: string; port: number; rt: typeof off }[] = [
  { name: "off", port: off.listeners[0].port, rt: off },
];
for (const sender of senders) {
  const rt = await startRuntime(config(true), {
    health: false,
    admin: false,
    logging: { inFlight, sender, batchMs },
  });
  variants.push({ name: sender, port: rt.listeners[0].port, rt });
}

const TICK_US = 1e6 / 100; // USER_HZ: /proc times are in 1/100 s on Linux

/** CPU µs of a process from /proc: [main thread (tid = pid), other threads, whole process]. */
function procCpu(pid: number): [number, number, number] {
  try {
    const ticks = (path: string) => {
      const f = Deno.readTextFileSync(path);
      const v = f.slice(f.lastIndexOf(")") + 2).split(" ");
      return (Number(v[11]) + Number(v[12])) * TICK_US; // utime + stime
    };
    const main = ticks(`/proc/${pid}/task/${pid}/stat`);
    const all = ticks(`/proc/${pid}/stat`);
    return [main, all - main, all];
  } catch {
    return [NaN, NaN, NaN];
  }
}

interface Run {
  rps: number;
  /** Proxy process CPU µs per request (all threads: the sender worker included). */
  cpu: number;
  /** Of which the main thread (the request path). */
  mainCpu: number;
  /** The helper (backend + syslog catcher) CPU µs per request. */
  helperCpu: number;
}

async function wrk(port: number): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const me0 = procCpu(Deno.pid);
  const h0 = procCpu(child.pid);
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
  const total = Math.max(1, Number(text.match(/(\d+) requests in/)?.[1] ?? 0));
  const me1 = procCpu(Deno.pid);
  const h1 = procCpu(child.pid);
  return {
    rps: Number(m[1]),
    cpu: (d.user + d.system) / total,
    mainCpu: (me1[0] - me0[0]) / total,
    helperCpu: (h1[2] - h0[2]) / total,
  };
}

const rps = new Map(variants.map((v) => [v.name, [] as number[]]));
const cpu = new Map(variants.map((v) => [v.name, [] as number[]]));
const mainCpu = new Map(variants.map((v) => [v.name, [] as number[]]));
const helperCpu = new Map(variants.map((v) => [v.name, [] as number[]]));
for (const v of variants) await wrk(v.port); // warm-up
for (let i = 0; i < rounds; i++) {
  // Rotate the order every round.
  const order = variants.map((_, k) => variants[(k + i) % variants.length]);
  const parts: string[] = [];
  for (const v of order) {
    const r = await wrk(v.port);
    rps.get(v.name)!.push(r.rps);
    cpu.get(v.name)!.push(r.cpu);
    mainCpu.get(v.name)!.push(r.mainCpu);
    helperCpu.get(v.name)!.push(r.helperCpu);
    parts.push(
      `${v.name} ${r.rps.toFixed(0)} req/s ${r.cpu.toFixed(1)} µs (main ${
        r.mainCpu.toFixed(1)
      }, helper ${r.helperCpu.toFixed(1)})`,
    );
  }
  console.log(`round ${i + 1}: ${parts.join(", ")}`);
}
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (a: number[]) => {
  const m = median(a);
  return (Math.max(...a) - Math.min(...a)) / m * 100;
};
const mOff = median(rps.get("off")!);
const cOff = median(cpu.get("off")!);
const mainOff = median(mainCpu.get("off")!);
const helperOff = median(helperCpu.get("off")!);
console.log(
  `median off: ${mOff.toFixed(0)} req/s (spread ${spread(rps.get("off")!).toFixed(1)} %), ` +
    `${cOff.toFixed(1)} µs CPU/req (main thread ${mainOff.toFixed(1)}; helper ${
      helperOff.toFixed(1)
    })`,
);
for (const v of variants.slice(1)) {
  const r = rps.get(v.name)!;
  const c = cpu.get(v.name)!;
  // Paired per round: the loss of each round against the off run of the same round.
  const paired = r.map((x, k) => (1 - x / rps.get("off")![k]) * 100);
  console.log(
    `median ${v.name}: ${median(r).toFixed(0)} req/s (loss ${
      ((1 - median(r) / mOff) * 100).toFixed(1)
    } %, paired-round median ${median(paired).toFixed(1)} %, spread ${spread(r).toFixed(1)} %); ${
      median(c).toFixed(1)
    } µs CPU/req (+${((median(c) / cOff - 1) * 100).toFixed(1)} %); ` +
      `dropped ${v.rt.logging?.dropped() ?? 0}`,
  );
}
for (const v of variants) await v.rt.logging?.stop();
await child.stdin.close();
const received = JSON.parse(await readLine()).datagrams;
console.log(
  `syslog datagrams received: ${received < 0 ? `not counted (${catcher})` : received}`,
);
await child.status;
// runtime.stop() is left out: see the report (Deno.serve abort after shutdown).
Deno.exit(0);
