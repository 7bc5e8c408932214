// deno task bench [--quick] [--rounds N] [--duration SECONDS] [--connections N] [--v8-flags=...]
//
// wtproxy against HAProxy (both single-threaded) in front of nginx, all on 127.0.0.1, driven by
// wrk with the same duration and connection count. Every round starts each contender afresh;
// rounds are interleaved and alternate the order (HAProxy wtproxy, wtproxy HAProxy, ...); the
// table gives the median over the rounds. Scenarios:
//   1. recipe mode (http-server-close), small responses    goal: wtproxy >= 1.0x HAProxy req/s
//   2. keep-alive on both sides, small responses            goal: >= 0.6x
//   3. 1 GB download and 100 MB upload through the proxy     goal: >= 0.5x MB/s, RSS growth < 50 MB
//   4. keep-alive with three http-request rules that match nothing (vs 2: what rules cost)
//   5. HTTPS keep-alive (ECDSA P-256 certificate, the same file for both)  goal: >= 0.5x
//   6. HTTPS, a new TLS connection per request (handshakes/s)               goal: >= 0.5x
//   7. 1 GB download over TLS                                goal: MB/s ratio, RSS growth < 50 MB
// `--only 4,5` runs some of them.
// Besides req/s and latency it reports the proxy's CPU time per request (user+system, all
// threads, from /proc): on a shared 2-core box it is steadier than req/s. `--quick` is one round
// of 3 s; the full run (3 rounds of 5 s) takes about 3 minutes.
// wtproxy runs with the V8 flags of `deno task start` (deno.json), so that the benchmark
// measures what users run; `--v8-flags=...` overrides them (`--v8-flags=` for none), e.g.
// `--v8-flags=--max-semi-space-size=2` (a smaller young generation).
// `--threads 1,2`: instead, scenarios 1 and 2 with wtproxy and HAProxy at each nbthread, with
// the requests each wtproxy worker served (its /stats.json): is the kernel's accept spread even?
// Internal: `--serve CONFIG` runs wtproxy itself (the subprocess the benchmark starts).

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
    rounds: { type: "string" },
    "v8-flags": { type: "string" },
    threads: { type: "string" },
    serve: { type: "string" },
    only: { type: "string" },
  },
});

if (args.values.serve) {
  const { config } = await loadConfig(args.values.serve);
  const rt = await startRuntime(config, { logging: false, admin: config.admin != null });
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
const duration = Number(args.values.duration ?? (quick ? 3 : 5));
const connections = Number(args.values.connections);
const rounds = Number(args.values.rounds ?? (quick ? 1 : 3));
const v8Flags = args.values["v8-flags"] ?? startTaskV8Flags();
/** `--threads 1,2`: the nbthread values to compare (null: the single-thread benchmark). */
const threadCounts = args.values.threads === undefined
  ? null
  : args.values.threads.split(",").map((t) => Number(t.trim()));
if (
  threadCounts?.some((n) => !Number.isInteger(n) || n < 1 || n > 64) || threadCounts?.length === 0
) {
  console.error(
    `bench: --threads takes a list such as 1,2 (each 1 to 64), got "${args.values.threads}"`,
  );
  Deno.exit(2);
}
const only = args.values.only ? new Set(args.values.only.split(",")) : null;
const wanted = (n: string) => only === null || only.has(n);

const tmp = await Deno.makeTempDir({ prefix: "wtproxy-bench-" });
await Deno.chmod(tmp, 0o755); // nginx workers may run as another user
const procs = new Processes("null");
const spawn = (cmd: string, argv: string[]) => procs.spawn(cmd, argv);
const kill = (child: Deno.ChildProcess) => procs.kill(child);

function which(cmd: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not there */ }
  }
  return null;
}

function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

async function run(cmd: string, argv: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) return NaN;
  const unit = { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]]!;
  return Number(m[1]) * unit;
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function wrk(
  port: number,
  seconds = duration,
  mode: Mode = "keep-alive",
): Promise<WrkResult> {
  const tls = mode === "tls" || mode === "tls-new";
  const out = await run("wrk", [
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    // a new connection (and TLS handshake) per request
    ...(mode === "tls-new" ? ["-H", "Connection: close"] : []),
    `${tls ? "https" : "http"}://127.0.0.1:${port}/`,
  ]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  // Anchored: "72.50%" in the thread-stats table must not be taken for the 50% line.
  const p50 = ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const p99 = ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "");
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

// --- TLS: one ECDSA P-256 certificate (and key, in HAProxy's one-file PEM) for both ----------
const sitePem = `${tmp}/site.pem`;
{
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${tmp}/site.key`,
      "-out",
      `${tmp}/site.crt`,
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-days",
      "2",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl: ${new TextDecoder().decode(out.stderr)}`);
  await Deno.writeTextFile(
    sitePem,
    await Deno.readTextFile(`${tmp}/site.crt`) + await Deno.readTextFile(`${tmp}/site.key`),
  );
  await Deno.chmod(sitePem, 0o644);
}

// --- proxies ------------------------------------------------------------------------------
/** keep-alive on both sides for all but server-close; rules: 3 rules matching nothing; tls,
 * tls-new: an HTTPS bind (tls-new: the client closes after each request). */
type Mode = "server-close" | "keep-alive" | "rules" | "tls" | "tls-new";

/** Three http-request rules that no benchmark request matches (one line each, both syntaxes). */
const NO_MATCH_RULES = [
  "deny if { path_beg /never-a }",
  "set-header X-Never 1 if { hdr(x-never) -m found }",
  "redirect scheme https if { path_beg /never-b }",
];

function haproxyCfg(port: number, mode: Mode, threads: number): string {
  return `global
  maxconn 4096
  nbthread ${threads}
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
  bind 127.0.0.1:${port}${
    mode === "tls" || mode === "tls-new" ? ` ssl crt ${sitePem} alpn http/1.1` : ""
  }
${
    mode === "rules"
      ? NO_MATCH_RULES.map((r) => `  http-request ${r}\n`).join("")
      : ""
  }  use_backend sink if { path_beg /up }
  default_backend b
backend b
  server s1 127.0.0.1:${backendPort}
backend sink
  server s1 127.0.0.1:${sinkPort}
`;
}

function wtproxyCfg(port: number, mode: Mode, threads: number, adminPort: number): string {
  return `global:
  maxconn: 4096
  nbthread: ${threads}
admin:
  bind: 127.0.0.1:${adminPort}
defaults:
  mode: http
  options:
    http-server-close: ${mode === "server-close"}
    http-pretend-keepalive: ${mode === "server-close"}
    forwardfor: true
  timeouts: { connect: 5s, client: 50s, server: 50s }
frontends:
  f:
    bind: ${
    mode === "tls" || mode === "tls-new"
      ? `[{ address: "127.0.0.1:${port}", ssl: { crt: "${sitePem}" } }]`
      : `["127.0.0.1:${port}"]`
  }
${
    mode === "rules"
      ? `    http-request:\n${NO_MATCH_RULES.map((r) => `      - "${r}"\n`).join("")}`
      : ""
  }    acls:
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

interface Started {
  port: number;
  pid: number;
  child: Deno.ChildProcess;
  /** Requests each data-plane worker served (wtproxy with workers), else null. */
  perWorker(): Promise<number[] | null>;
}

interface Contender {
  name: string;
  threads: number;
  start(mode: Mode): Promise<Started>;
}

const haproxy = which("haproxy");
const root = new URL("..", import.meta.url).pathname;

/** HAProxy (when installed) and wtproxy, both at nbthread `threads`. */
function contendersAt(threads: number): Contender[] {
  const out: Contender[] = [];
  if (haproxy) {
    out.push({
      name: "haproxy",
      threads,
      async start(mode) {
        const port = freePort();
        const cfg = `${tmp}/haproxy-${mode}-${threads}.cfg`;
        await Deno.writeTextFile(cfg, haproxyCfg(port, mode, threads));
        const child = spawn(haproxy, ["-db", "-f", cfg]);
        await waitPort(port);
        return { port, pid: child.pid, child, perWorker: () => Promise.resolve(null) };
      },
    });
  }
  out.push({ name: "wtproxy", threads, start: (mode) => startWtproxy(mode, threads) });
  return out;
}

async function startWtproxy(mode: Mode, threads: number): Promise<Started> {
  {
    const port = freePort();
    const adminPort = freePort();
    const cfg = `${tmp}/wtproxy-${mode}-${threads}.yaml`;
    await Deno.writeTextFile(cfg, wtproxyCfg(port, mode, threads, adminPort));
    const child = spawn(Deno.execPath(), [
      "run",
      "-A",
      "--unstable-no-legacy-abort",
      ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
      `--config=${root}deno.json`,
      `${root}scripts/bench.ts`,
      "--serve",
      cfg,
    ]);
    await waitPort(port);
    const perWorker = async () => {
      if (threads === 1) return null;
      const stats = await (await fetch(`http://127.0.0.1:${adminPort}/stats.json`)).json();
      return stats.info.requestsPerWorker as number[];
    };
    return { port, pid: child.pid, child, perWorker };
  }
}

let contenders: Contender[] = contendersAt(1);

/** Contenders in round `r`: A B, then B A, ... (neither always runs first, on a cold box). */
function order(r: number): Contender[] {
  return r % 2 === 0 ? contenders : [...contenders].reverse();
}

interface Row {
  scenario: string;
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** Proxy CPU time per request, microseconds. */
  cpuUs: number;
  rss: number;
  errors: number;
  rounds: number;
  threads: number;
  /** Share of the requests each wtproxy worker served, e.g. "51% / 49%" ("" otherwise). */
  spread: string;
}
const rows: Row[] = [];

async function httpScenario(scenario: string, mode: Mode): Promise<void> {
  const acc = new Map<string, Row[]>();
  for (let r = 0; r < rounds; r++) {
    for (const c of order(r)) {
      const p = await c.start(mode);
      await wrk(p.port, 1, mode).catch(() => null); // warm-up (JIT, pools), short
      const cpu0 = cpuSeconds(p.pid);
      const res = await wrk(p.port, duration, mode);
      const cpuUs = (cpuSeconds(p.pid) - cpu0) * 1e6 / (res.rps * duration);
      const split = await p.perWorker().catch(() => null);
      const total = split?.reduce((a, b) => a + b, 0) ?? 0;
      const spread = split && total > 0
        ? split.map((n) => `${Math.round((100 * n) / total)}%`).join(" / ")
        : "";
      const row = {
        scenario,
        name: c.name,
        ...res,
        cpuUs,
        rss: rssMb(p.pid),
        rounds: 1,
        threads: c.threads,
        spread,
      };
      acc.set(c.name, [...(acc.get(c.name) ?? []), row]);
      await kill(p.child);
      console.error(
        `  ${scenario} ${c.name} round ${r + 1}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50} ms, ` +
          `${cpuUs.toFixed(1)} us CPU/req, RSS ${row.rss.toFixed(0)} MB` +
          (spread ? `, requests per worker ${spread}` : ""),
      );
    }
  }
  for (const [name, list] of acc) {
    const med = (f: (r: Row) => number) => median(list.map(f));
    rows.push({
      scenario,
      name,
      rps: med((r) => r.rps),
      p50: med((r) => r.p50),
      p99: med((r) => r.p99),
      cpuUs: med((r) => r.cpuUs),
      rss: med((r) => r.rss),
      errors: list.reduce((a, r) => a + r.errors, 0),
      rounds: list.length,
      threads: list[0].threads,
      spread: list[list.length - 1].spread,
    });
  }
}

interface XferRow {
  name: string;
  downMBs: number;
  upMBs: number;
  rssBase: number;
  /** Peak RSS over the base (after one small request) during the download, and the upload. */
  downGrowth: number;
  upGrowth: number;
}
const xfer = new Map<string, XferRow[]>();

async function curlSpeed(argv: string[], pid: number): Promise<{ mbs: number; peak: number }> {
  let peak = rssMb(pid);
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
    return { mbs: Math.max(down, up) / 1024 / 1024, peak: Math.max(peak, rssMb(pid)) };
  } finally {
    clearInterval(timer);
  }
}

async function transferScenario(tls = false): Promise<void> {
  // Once straight from the backend first, so that no contender pays for a cold page cache.
  await run("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${backendPort}/big`]);
  for (let r = 0; r < rounds; r++) {
    for (const c of order(r)) {
      const p = await c.start(tls ? "tls" : "keep-alive");
      const url = `${tls ? "https" : "http"}://127.0.0.1:${p.port}`;
      // One small request first so that the baseline includes the warmed-up runtime.
      await run("curl", ["-s", "-k", "-o", "/dev/null", `${url}/`]);
      const base = rssMb(p.pid);
      const d = await curlSpeed(["-k", `${url}/big`], p.pid);
      const u = tls ? { mbs: NaN, peak: base } : await curlSpeed([
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        `@${upFile}`,
        `http://127.0.0.1:${p.port}/up`,
      ], p.pid);
      const row: XferRow = {
        name: c.name,
        downMBs: d.mbs,
        upMBs: u.mbs,
        rssBase: base,
        downGrowth: d.peak - base,
        upGrowth: u.peak - base,
      };
      const key = tls ? `${c.name} (TLS)` : c.name;
      xfer.set(key, [...(xfer.get(key) ?? []), row]);
      await kill(p.child);
      console.error(
        `  transfer${tls ? " over TLS" : ""} ${c.name} round ${r + 1}: down ${
          d.mbs.toFixed(0)
        } MB/s (+${row.downGrowth.toFixed(0)} MB RSS), up ${u.mbs.toFixed(0)} MB/s (+${
          row.upGrowth.toFixed(0)
        } MB RSS)`,
      );
    }
  }
}

/** The single-thread benchmark: scenarios 1 to 7 (`--only`), wtproxy against HAProxy. */
async function singleThreadBench(t0: number): Promise<void> {
  if (wanted("1")) await httpScenario("1 server-close", "server-close");
  if (wanted("2")) await httpScenario("2 keep-alive", "keep-alive");
  if (wanted("3")) await transferScenario();
  if (wanted("4")) await httpScenario("4 keep-alive + 3 rules", "rules");
  if (wanted("5")) await httpScenario("5 https keep-alive", "tls");
  if (wanted("6")) await httpScenario("6 https new conn/req", "tls-new");
  if (wanted("7")) await transferScenario(true);

  const f = (n: number, d = 0) => Number.isFinite(n) ? n.toFixed(d) : "-";
  const lines: string[] = [];
  lines.push(
    `backend ${backendName}; wrk -t1 -c${connections} -d${duration}s; ${rounds} round(s), ` +
      `medians; ${((Date.now() - t0) / 1000).toFixed(0)} s` +
      (v8Flags ? `; wtproxy --v8-flags=${v8Flags}` : ""),
  );
  lines.push("");
  lines.push(
    `| scenario | proxy | req/s | vs haproxy | p50 ms | p99 ms | CPU us/req | RSS MB | errors |`,
  );
  lines.push(`| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  const ratio = (s: string) => {
    const w = rows.find((r) => r.scenario === s && r.name === "wtproxy");
    const h = rows.find((r) => r.scenario === s && r.name === "haproxy");
    return w && h ? (w.rps / h.rps).toFixed(2) + "x" : "-";
  };
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.name} | ${f(r.rps)} | ${
        r.name === "wtproxy" ? ratio(r.scenario) : ""
      } | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.cpuUs, 1)} | ${f(r.rss, 1)} | ${r.errors} |`,
    );
  }
  lines.push("");
  lines.push(
    `ratio wtproxy/haproxy req/s: server-close ${ratio("1 server-close")} (goal >= 1.0x), ` +
      `keep-alive ${ratio("2 keep-alive")} (goal >= 0.6x), https keep-alive ${
        ratio("5 https keep-alive")
      } (goal >= 0.5x), handshakes ${ratio("6 https new conn/req")} (goal >= 0.5x)`,
  );
  const ka = rows.find((r) => r.scenario === "2 keep-alive" && r.name === "wtproxy");
  const kr = rows.find((r) => r.scenario === "4 keep-alive + 3 rules" && r.name === "wtproxy");
  if (ka && kr) {
    lines.push(
      `wtproxy keep-alive with 3 non-matching rules vs none: ${(kr.rps / ka.rps).toFixed(3)}x ` +
        `req/s, CPU ${f(kr.cpuUs, 1)} vs ${f(ka.cpuUs, 1)} us/req`,
    );
  }
  lines.push("");
  lines.push(
    `| transfer | proxy | 1 GB down MB/s | 100 MB up MB/s | RSS base MB | RSS growth during down MB | during up MB |`,
  );
  lines.push(`| --- | --- | ---: | ---: | ---: | ---: | ---: |`);
  const med = new Map<string, XferRow>();
  for (const [name, list] of xfer) {
    const m = (g: (x: XferRow) => number) => median(list.map(g));
    const x: XferRow = {
      name,
      downMBs: m((x) => x.downMBs),
      upMBs: m((x) => x.upMBs),
      rssBase: m((x) => x.rssBase),
      downGrowth: m((x) => x.downGrowth),
      upGrowth: m((x) => x.upGrowth),
    };
    med.set(name, x);
    lines.push(
      `| ${name.includes("TLS") ? 7 : 3} | ${name} | ${f(x.downMBs)} | ${f(x.upMBs)} | ${
        f(x.rssBase, 1)
      } | ${f(x.downGrowth, 1)} | ${f(x.upGrowth, 1)} |`,
    );
  }
  const wt = med.get("wtproxy (TLS)");
  const ht = med.get("haproxy (TLS)");
  if (wt && ht) {
    lines.push("");
    lines.push(
      `ratio wtproxy/haproxy MB/s over TLS: down ${(wt.downMBs / ht.downMBs).toFixed(2)}x; ` +
        `wtproxy RSS growth ${wt.downGrowth.toFixed(1)} MB (goal < 50)`,
    );
  }
  const w = med.get("wtproxy");
  const h = med.get("haproxy");
  if (w && h) {
    lines.push("");
    lines.push(
      `ratio wtproxy/haproxy MB/s: down ${(w.downMBs / h.downMBs).toFixed(2)}x, up ${
        (w.upMBs / h.upMBs).toFixed(2)
      }x (goal >= 0.5x); wtproxy RSS growth ${
        Math.max(w.downGrowth, w.upGrowth).toFixed(1)
      } MB (goal < 50)`,
    );
  }
  console.log(lines.join("\n"));
}

/** `--threads`: scenarios 1 and 2 at each nbthread, one table. */
async function threadsBench(t0: number, counts: number[]): Promise<void> {
  for (const n of counts) {
    contenders = contendersAt(n);
    await httpScenario(`1 server-close, nbthread ${n}`, "server-close");
    await httpScenario(`2 keep-alive, nbthread ${n}`, "keep-alive");
  }
  const f = (x: number, d = 0) => Number.isFinite(x) ? x.toFixed(d) : "-";
  const lines = [
    `backend ${backendName}; wrk -t1 -c${connections} -d${duration}s; ${rounds} round(s), ` +
    `medians; ${((Date.now() - t0) / 1000).toFixed(0)} s; ${navigator.hardwareConcurrency} CPUs ` +
    `shared with wrk and the backend`,
    "",
    "| scenario | proxy | req/s | vs haproxy | CPU us/req | RSS MB | requests per worker | errors |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
  ];
  for (const r of rows) {
    const h = rows.find((x) => x.scenario === r.scenario && x.name === "haproxy");
    const vs = r.name === "wtproxy" && h ? `${(r.rps / h.rps).toFixed(2)}x` : "";
    lines.push(
      `| ${r.scenario} | ${r.name} | ${f(r.rps)} | ${vs} | ${f(r.cpuUs, 1)} | ${f(r.rss, 1)} | ${
        r.spread || "-"
      } | ${r.errors} |`,
    );
  }
  console.log(lines.join("\n"));
}

try {
  if (!which("wrk")) throw new Error("wrk is not installed");
  console.error(
    `backend ${backendName}; ${duration}s x ${connections} connections, ${rounds} round(s)`,
  );
  const t0 = Date.now();
  if (threadCounts) await threadsBench(t0, threadCounts);
  else await singleThreadBench(t0);
} finally {
  await procs.killAll();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}
