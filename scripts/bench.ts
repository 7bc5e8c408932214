// deno task bench [--quick] [--duration SECONDS] [--connections N]
//
// wtproxy against HAProxy (both single-threaded) in front of nginx, all on 127.0.0.1, driven by
// wrk with the same duration and connection count, runs interleaved (HAProxy, wtproxy, HAProxy,
// wtproxy, ...). Scenarios:
//   1. recipe mode (http-server-close), small responses    goal: wtproxy >= 1.0x HAProxy req/s
//   2. keep-alive on both sides, small responses            goal: >= 0.6x
//   3. 1 GB download and 100 MB upload through the proxy     goal: >= 0.5x MB/s, RSS growth < 50 MB
// Prints req/s, p50/p99 latency and proxy RSS per contender and the wtproxy/HAProxy ratio.
// Internal: `--serve CONFIG` runs wtproxy itself (the subprocess the benchmark starts).

import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load.ts";
import { startRuntime } from "../src/runtime.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    connections: { type: "string", default: "50" },
    rounds: { type: "string" },
    serve: { type: "string" },
  },
});

if (args.values.serve) {
  const { config } = await loadConfig(args.values.serve);
  const rt = await startRuntime(config, { logging: false, admin: false });
  console.log("ready");
  const stop = async () => {
    await rt.stop(1000);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await new Promise(() => {});
}

const quick = args.values.quick!;
const duration = Number(args.values.duration ?? (quick ? 3 : 8));
const connections = Number(args.values.connections);
const rounds = Number(args.values.rounds ?? (quick ? 1 : 2));
const tmp = await Deno.makeTempDir({ prefix: "wtproxy-bench-" });
await Deno.chmod(tmp, 0o755); // nginx workers may run as another user
const children: Deno.ChildProcess[] = [];

function which(cmd: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not there */ }
  }
  return null;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

async function waitPort(port: number, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > until) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function spawn(cmd: string, argv: string[]): Deno.ChildProcess {
  const child = new Deno.Command(cmd, { args: argv, stdout: "null", stderr: "piped" }).spawn();
  children.push(child);
  return child;
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  await child.status;
  await child.stderr.cancel().catch(() => {});
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function run(cmd: string, argv: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

function ms(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function wrk(port: number): Promise<WrkResult> {
  const out = await run("wrk", [
    "-t1",
    `-c${connections}`,
    `-d${duration}s`,
    "--latency",
    `http://127.0.0.1:${port}/`,
  ]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = ms(/50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = ms(/99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (errs ? Number(errs[1]) : 0) +
    (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50, p99, errors };
}

// --- backend: nginx (or a Deno fallback) --------------------------------------------------
const BIG = 1024 * 1024 * 1024;
const UP = 100 * 1024 * 1024;
const bigFile = `${tmp}/big.bin`;
const upFile = `${tmp}/up.bin`;
for (const [path, size] of [[bigFile, BIG], [upFile, UP]] as const) {
  const f = await Deno.open(path, { write: true, create: true });
  await f.truncate(size); // sparse: no disk space used
  f.close();
  await Deno.chmod(path, 0o644);
}
const backendPort = freePort();
let backendName: string;
const nginx = which("nginx");
if (nginx) {
  backendName = "nginx";
  await Deno.writeTextFile(
    `${tmp}/nginx.conf`,
    `worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi; uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${backendPort};
    client_max_body_size 0;
    location = / { return 200 "hello from nginx\\n"; }
    location = /big { alias ${bigFile}; }
    location = /up { return 200 "ok\\n"; }
  }
}
`,
  );
  spawn(nginx, ["-c", `${tmp}/nginx.conf`, "-p", tmp]);
} else {
  backendName = "deno";
  const code = `Deno.serve({hostname:"127.0.0.1",port:${backendPort},onListen(){}},async(r)=>{
    const u=r.url; if(u.endsWith("/big")){const f=await Deno.open(${
    JSON.stringify(bigFile)
  });return new Response(f.readable);}
    if(r.body){for await(const _ of r.body){}} return new Response("hello from deno\\n");});`;
  spawn(Deno.execPath(), ["eval", code]);
}
await waitPort(backendPort);
// Upload sink: reads every byte of the body before answering (nginx's `return` would answer
// first and discard, which measures nothing).
const sinkPort = freePort();
spawn(Deno.execPath(), [
  "eval",
  `Deno.serve({hostname:"127.0.0.1",port:${sinkPort},onListen(){}},async(r)=>{let n=0;
   if(r.body){for await(const c of r.body)n+=c.length;} return new Response("got "+n+"\\n");});`,
]);
await waitPort(sinkPort);

// --- proxies ------------------------------------------------------------------------------
type Mode = "server-close" | "keep-alive";

function haproxyCfg(port: number, mode: Mode): string {
  return `global
  maxconn 4096
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 50s
  timeout server 50s
  ${
    mode === "server-close"
      ? "option http-server-close\n  option http-pretend-keepalive"
      : "option http-keep-alive"
  }
  option forwardfor
frontend f
  bind 127.0.0.1:${port}
  use_backend sink if { path_beg /up }
  default_backend b
backend b
  server s1 127.0.0.1:${backendPort}
backend sink
  server s1 127.0.0.1:${sinkPort}
`;
}

function wtproxyCfg(port: number, mode: Mode): string {
  return `global:
  maxconn: 4096
defaults:
  mode: http
  options:
    http-server-close: ${mode === "server-close"}
    http-pretend-keepalive: ${mode === "server-close"}
    forwardfor: true
  timeouts: { connect: 5s, client: 50s, server: 50s }
frontends:
  f:
    bind: ["127.0.0.1:${port}"]
    acls:
      is_up: path_beg /up
    use_backend:
      - { backend: sink, if: is_up }
    default_backend: b
backends:
  b:
    servers:
      s1: { address: 127.0.0.1:${backendPort} }
  sink:
    servers:
      s1: { address: 127.0.0.1:${sinkPort} }
`;
}

interface Contender {
  name: string;
  start(mode: Mode): Promise<{ port: number; pid: number; child: Deno.ChildProcess }>;
}

const contenders: Contender[] = [];
const haproxy = which("haproxy");
if (haproxy) {
  contenders.push({
    name: "haproxy",
    async start(mode) {
      const port = freePort();
      const cfg = `${tmp}/haproxy-${mode}.cfg`;
      await Deno.writeTextFile(cfg, haproxyCfg(port, mode));
      const child = spawn(haproxy, ["-db", "-f", cfg]);
      await waitPort(port);
      return { port, pid: child.pid, child };
    },
  });
}
const root = new URL("..", import.meta.url).pathname;
contenders.push({
  name: "wtproxy",
  async start(mode) {
    const port = freePort();
    const cfg = `${tmp}/wtproxy-${mode}.yaml`;
    await Deno.writeTextFile(cfg, wtproxyCfg(port, mode));
    const child = spawn(Deno.execPath(), [
      "run",
      "-A",
      "--unstable-no-legacy-abort",
      `--config=${root}deno.json`,
      `${root}scripts/bench.ts`,
      "--serve",
      cfg,
    ]);
    await waitPort(port);
    return { port, pid: child.pid, child };
  },
});

interface Row {
  scenario: string;
  name: string;
  rps: number;
  p50: number;
  p99: number;
  rss: number;
  errors: number;
}
const rows: Row[] = [];

async function httpScenario(scenario: string, mode: Mode): Promise<void> {
  const acc = new Map<string, Row[]>();
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const p = await c.start(mode);
      await wrk(p.port).catch(() => null); // warm-up (JIT), short
      const res = await wrk(p.port);
      const row = { scenario, name: c.name, ...res, rss: rssMb(p.pid) };
      acc.set(c.name, [...(acc.get(c.name) ?? []), row]);
      await kill(p.child);
      console.error(
        `  ${scenario} ${c.name} round ${r + 1}: ${res.rps.toFixed(0)} req/s p50 ${res.p50} ms`,
      );
    }
  }
  for (const [name, list] of acc) {
    const avg = (f: (r: Row) => number) => list.reduce((a, r) => a + f(r), 0) / list.length;
    rows.push({
      scenario,
      name,
      rps: avg((r) => r.rps),
      p50: avg((r) => r.p50),
      p99: avg((r) => r.p99),
      rss: Math.max(...list.map((r) => r.rss)),
      errors: list.reduce((a, r) => a + r.errors, 0),
    });
  }
}

interface XferRow {
  name: string;
  downMBs: number;
  upMBs: number;
  rssBase: number;
  rssPeak: number;
}
const xfer: XferRow[] = [];

async function curlSpeed(argv: string[], pid: number): Promise<{ mbs: number; peak: number }> {
  let peak = 0;
  const timer = setInterval(() => peak = Math.max(peak, rssMb(pid)), 50);
  try {
    const out = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{speed_download} %{speed_upload}",
      ...argv,
    ]);
    const [down, up] = out.trim().split(" ").map(Number);
    return { mbs: Math.max(down, up) / 1024 / 1024, peak };
  } finally {
    clearInterval(timer);
  }
}

async function transferScenario(): Promise<void> {
  for (const c of contenders) {
    const p = await c.start("keep-alive");
    // One small request first so that the baseline includes the warmed-up runtime.
    await run("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${p.port}/`]);
    const base = rssMb(p.pid);
    const d = await curlSpeed([`http://127.0.0.1:${p.port}/big`], p.pid);
    const u = await curlSpeed([
      "-H",
      "Content-Type: application/octet-stream",
      "--data-binary",
      `@${upFile}`,
      `http://127.0.0.1:${p.port}/up`,
    ], p.pid);
    xfer.push({
      name: c.name,
      downMBs: d.mbs,
      upMBs: u.mbs,
      rssBase: base,
      rssPeak: Math.max(d.peak, u.peak),
    });
    await kill(p.child);
    console.error(
      `  transfer ${c.name}: down ${d.mbs.toFixed(0)} MB/s up ${u.mbs.toFixed(0)} MB/s`,
    );
  }
}

try {
  if (!which("wrk")) throw new Error("wrk is not installed");
  console.error(
    `backend ${backendName}; ${duration}s x ${connections} connections, ${rounds} round(s)`,
  );
  await httpScenario("1 server-close", "server-close");
  await httpScenario("2 keep-alive", "keep-alive");
  await transferScenario();

  const f = (n: number, d = 0) => Number.isFinite(n) ? n.toFixed(d) : "-";
  const lines: string[] = [];
  lines.push(`| scenario | proxy | req/s | p50 ms | p99 ms | RSS MB | errors |`);
  lines.push(`| --- | --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.name} | ${f(r.rps)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${
        f(r.rss, 1)
      } | ${r.errors} |`,
    );
  }
  const ratio = (s: string) => {
    const w = rows.find((r) => r.scenario === s && r.name === "wtproxy");
    const h = rows.find((r) => r.scenario === s && r.name === "haproxy");
    return w && h ? (w.rps / h.rps).toFixed(2) + "x" : "-";
  };
  lines.push("");
  lines.push(
    `ratio wtproxy/haproxy: server-close ${ratio("1 server-close")} (goal >= 1.0x), ` +
      `keep-alive ${ratio("2 keep-alive")} (goal >= 0.6x)`,
  );
  lines.push("");
  lines.push(
    `| transfer | proxy | 1 GB down MB/s | 100 MB up MB/s | RSS base MB | RSS peak MB | growth MB |`,
  );
  lines.push(`| --- | --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const x of xfer) {
    lines.push(
      `| 3 | ${x.name} | ${f(x.downMBs)} | ${f(x.upMBs)} | ${f(x.rssBase, 1)} | ${
        f(x.rssPeak, 1)
      } | ${f(x.rssPeak - x.rssBase, 1)} |`,
    );
  }
  const w = xfer.find((x) => x.name === "wtproxy");
  const h = xfer.find((x) => x.name === "haproxy");
  if (w && h) {
    lines.push("");
    lines.push(
      `ratio wtproxy/haproxy MB/s: down ${(w.downMBs / h.downMBs).toFixed(2)}x, up ${
        (w.upMBs / h.upMBs).toFixed(2)
      }x (goal >= 0.5x); wtproxy RSS growth ${(w.rssPeak - w.rssBase).toFixed(1)} MB (goal < 50)`,
    );
  }
  console.log(lines.join("\n"));
} finally {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch { /* gone */ }
    await c.status;
    await c.stderr.cancel().catch(() => {});
  }
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}
