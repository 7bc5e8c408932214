// Failover measurement (issue 5): config.example.yaml with its ports moved to free ones, two
// backend processes (wt1, wt2), a steady stream of requests (half without a session, half
// `/?wtd=wt1...`), srv1 killed with SIGKILL, then restarted. Measures, for wtproxy and for
// HAProxy 2.6 on the equivalent .cfg (when `haproxy` is installed):
//   - failed requests of each kind (non-200 or transport error) from the kill to the end;
//   - time from the kill until a `wt1` request is served by srv2;
//   - time from the restart until a `wt1` request reaches srv1 again.
// Goal: 0 failures, wt1 on srv2 within 1 s, back within rise * inter + 1 s (= 5 s by default).
//
//   deno task failover [--proxy wtproxy|haproxy|both] [--down MS] [--up MS] [--gap MS] [--json]
//
// The script also runs itself as a backend: `failover.ts --backend PORT NAME`.

import { parseArgs } from "node:util";
import { freePort } from "./lib.ts";

const ROOT = new URL("..", import.meta.url);
const EXAMPLE = new URL("config.example.yaml", ROOT);
const MAIN = new URL("src/main.ts", ROOT);

// ---------------------------------------------------------------------------------------------
// Backend mode: a tiny Wt stand-in that says who it is.

// ---------------------------------------------------------------------------------------------

interface Sample {
  kind: "plain" | "wt1";
  start: number;
  end: number;
  status: number; // 0 = transport error
  body: string;
}

interface Figures {
  proxy: string;
  requests: { plain: number; wt1: number };
  failedAfterKill: { plain: number; wt1: number };
  wt1OnSrv2AfterMs: number | null;
  wt1BackOnSrv1AfterMs: number | null;
  /** The proxy's server state messages, with their time relative to the kill. */
  events: string[];
  goal: {
    zeroFailures: boolean;
    switchWithin1s: boolean;
    backWithin: boolean;
    backLimitMs: number;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Proc {
  readonly lines: { t: number; line: string }[] = [];
  private readonly child: Deno.ChildProcess;
  private readonly drained: Promise<void>[];
  constructor(cmd: string, args: string[], readonly label: string) {
    this.child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
      .spawn();
    this.drained = [this.drain(this.child.stdout), this.drain(this.child.stderr)];
  }
  private async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        for (const line of parts) this.lines.push({ t: performance.now(), line });
      }
    } catch { /* process gone */ }
  }
  async waitLine(re: RegExp, ms: number): Promise<boolean> {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      if (this.lines.some((l) => re.test(l.line))) return true;
      await sleep(20);
    }
    return false;
  }
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    await this.child.status;
    await Promise.allSettled(this.drained);
  }
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      proxy: { type: "string", default: "both" },
      down: { type: "string", default: "8000" },
      up: { type: "string", default: "8000" },
      gap: { type: "string", default: "20" },
      json: { type: "boolean", default: false },
    },
  });
  const which = values.proxy === "both" ? ["wtproxy", "haproxy"] : [values.proxy!];
  const results: Figures[] = [];
  for (const proxy of which) {
    if (proxy === "haproxy" && !(await haveHaproxy())) {
      console.error("haproxy not installed: comparison skipped");
      continue;
    }
    results.push(
      await scenario(proxy, Number(values.down), Number(values.up), Number(values.gap)),
    );
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else for (const r of results) print(r);
}

async function haveHaproxy(): Promise<boolean> {
  try {
    const out = await new Deno.Command("haproxy", { args: ["-v"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

function haproxyCfg(p: number, b1: number, b2: number): string {
  return `# The Wt recipe as HAProxy 2.6 accepts it (timeouts rewritten), ports moved.
global
  maxconn 4096
defaults
  mode http
  option http-server-close
  option http-pretend-keepalive
  option forwardfor
  option originalto
  option redispatch
  retries 3
  maxconn 2000
  timeout connect 5s
  timeout client 50s
  timeout server 50s
frontend wt
  bind 127.0.0.1:${p}
  acl srv1 url_sub wtd=wt1
  acl srv2 url_sub wtd=wt2
  acl srv1_up nbsrv(bck1) gt 0
  acl srv2_up nbsrv(bck2) gt 0
  use_backend bck1 if srv1_up srv1
  use_backend bck2 if srv2_up srv2
  default_backend bck_lb
backend bck_lb
  balance roundrobin
  server srv1 127.0.0.1:${b1} track bck1/srv1
  server srv2 127.0.0.1:${b2} track bck2/srv2
backend bck1
  balance roundrobin
  server srv1 127.0.0.1:${b1} check
backend bck2
  balance roundrobin
  server srv2 127.0.0.1:${b2} check
`;
}

async function wtproxyYaml(p: number, b1: number, b2: number): Promise<string> {
  const text = await Deno.readTextFile(EXAMPLE);
  return text
    .replaceAll("0.0.0.0:8080", `127.0.0.1:${p}`)
    .replaceAll("127.0.0.1:9090", `127.0.0.1:${b1}`)
    .replaceAll("127.0.0.1:9091", `127.0.0.1:${b2}`);
}

async function scenario(proxy: string, downMs: number, upMs: number, gap: number) {
  const [p, b1, b2] = [freePort(), freePort(), freePort()];
  const dir = await Deno.makeTempDir({ prefix: "wtproxy-failover-" });
  let tKill = Infinity;
  const self = new URL(import.meta.url).pathname;
  const backend = (port: number, name: string) =>
    new Proc(Deno.execPath(), ["run", "-A", self, "--backend", String(port), name], name);
  let srv1 = backend(b1, "wt1");
  const srv2 = backend(b2, "wt2");
  await Promise.all([srv1.waitLine(/listening/, 10000), srv2.waitLine(/listening/, 10000)]);

  let px: Proc;
  if (proxy === "haproxy") {
    const file = `${dir}/recipe.cfg`;
    await Deno.writeTextFile(file, haproxyCfg(p, b1, b2));
    px = new Proc("haproxy", ["-db", "-f", file], "haproxy");
  } else {
    const file = `${dir}/config.yaml`;
    await Deno.writeTextFile(file, await wtproxyYaml(p, b1, b2));
    px = new Proc(Deno.execPath(), ["run", "-A", MAIN.pathname, "-f", file], "wtproxy");
  }

  const samples: Sample[] = [];
  const base = `http://127.0.0.1:${p}`;
  let running = true;
  const once = async (kind: Sample["kind"], i: number) => {
    const url = kind === "wt1" ? `${base}/?wtd=wt1${String(i).padStart(12, "x")}` : `${base}/`;
    const start = performance.now();
    let status = 0;
    let body = "";
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30000) });
      body = await res.text();
      status = res.status;
    } catch { /* transport error: status 0 */ }
    return { kind, start, end: performance.now(), status, body };
  };
  // Ready when both servers answer through the proxy.
  const readyBy = performance.now() + 15000;
  while (performance.now() < readyBy) {
    const a = await once("wt1", 0);
    const b = await once("plain", 0);
    if (a.status === 200 && a.body === "wt1" && b.status === 200) break;
    await sleep(100);
  }
  const worker = async (kind: Sample["kind"]) => {
    let i = 0;
    while (running) {
      samples.push(await once(kind, ++i));
      await sleep(gap);
    }
  };
  const workers = [worker("plain"), worker("wt1")];
  await sleep(2500); // steady state: checks have passed, h is full

  tKill = performance.now();
  await srv1.kill("SIGKILL");
  await sleep(downMs);
  const tRestart = performance.now();
  srv1 = backend(b1, "wt1");
  await srv1.waitLine(/listening/, 10000);
  await sleep(upMs);
  running = false;
  await Promise.all(workers);
  await px.kill("SIGTERM");
  await Promise.all([srv1.kill(), srv2.kill()]);
  await Deno.remove(dir, { recursive: true }).catch(() => {});

  const after = samples.filter((s) => s.end >= tKill);
  const failed = (k: Sample["kind"]) =>
    after.filter((s) => s.kind === k && (s.status !== 200 || !s.body)).length;
  const switched = after.find((s) => s.kind === "wt1" && s.status === 200 && s.body === "wt2");
  const back = samples.find((s) =>
    s.kind === "wt1" && s.start >= tRestart && s.status === 200 && s.body === "wt1"
  );
  const backLimitMs = 2 * 2000 + 1000; // rise * inter + 1 s with the defaults
  const figures: Figures = {
    proxy,
    requests: {
      plain: samples.filter((s) => s.kind === "plain").length,
      wt1: samples.filter((s) => s.kind === "wt1").length,
    },
    failedAfterKill: { plain: failed("plain"), wt1: failed("wt1") },
    wt1OnSrv2AfterMs: switched ? Math.round(switched.end - tKill) : null,
    wt1BackOnSrv1AfterMs: back ? Math.round(back.end - tRestart) : null,
    events: px.lines
      .filter((l) => /Server .* is (DOWN|UP)|has no server available/.test(l.line))
      .map((l) =>
        `${((l.t - tKill) / 1000).toFixed(2)}s ${l.line.replace(/^.*?(Server|backend) /, "$1 ")}`
      ),
    goal: { zeroFailures: false, switchWithin1s: false, backWithin: false, backLimitMs },
  };
  figures.goal = {
    zeroFailures: figures.failedAfterKill.plain === 0 && figures.failedAfterKill.wt1 === 0,
    switchWithin1s: figures.wt1OnSrv2AfterMs !== null && figures.wt1OnSrv2AfterMs <= 1000,
    backWithin: figures.wt1BackOnSrv1AfterMs !== null &&
      figures.wt1BackOnSrv1AfterMs <= backLimitMs,
    backLimitMs,
  };
  return figures;
}

function print(f: Figures): void {
  const ms = (v: number | null) => (v === null ? "never" : `${(v / 1000).toFixed(2)} s`);
  const yes = (b: boolean) => (b ? "met" : "MISSED");
  console.log(`== ${f.proxy}`);
  console.log(`requests: ${f.requests.plain} without session, ${f.requests.wt1} with wtd=wt1`);
  console.log(
    `failed after the kill: ${f.failedAfterKill.plain} without session, ` +
      `${f.failedAfterKill.wt1} wt1   (goal 0: ${yes(f.goal.zeroFailures)})`,
  );
  console.log(
    `wt1 served by srv2 after the kill: ${ms(f.wt1OnSrv2AfterMs)}   ` +
      `(goal <= 1 s: ${yes(f.goal.switchWithin1s)})`,
  );
  console.log(
    `wt1 back on srv1 after the restart: ${ms(f.wt1BackOnSrv1AfterMs)}   ` +
      `(goal <= ${f.goal.backLimitMs / 1000} s: ${yes(f.goal.backWithin)})`,
  );
  if (f.events.length) {
    console.log("state events (time relative to the kill):");
    for (const e of f.events) console.log(`  ${e}`);
  }
}

// Entry point (last, so the classes above are initialised).
if (Deno.args[0] === "--backend") {
  const port = Number(Deno.args[1]);
  const name = Deno.args[2];
  Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => console.log("listening") },
    () => new Response(name, { headers: { "content-type": "text/plain", "x-served-by": name } }),
  );
} else {
  await main();
}
