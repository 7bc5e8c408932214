// `deno task demo`: two Wt-like servers (wt1 on 9090, wt2 on 9091) behind wtproxy running
// config.example.yaml (the Wt wiki recipe). Open the printed URL: the page shows which
// server and session answered; stop/start a server from the page or with keys 1 / 2 and
// watch the session fail over. Flags: `--log` prints the httplog lines, `-f FILE` another
// configuration (its servers must still be 127.0.0.1:9090 / :9091).
import { loadConfig } from "../src/config/load.ts";
import { ConfigError, formatDiagnostic } from "../src/config/model.ts";
import { type Runtime, startRuntime } from "../src/runtime.ts";
import { proxyView, setDrain } from "../src/demo/drain.ts";
import { type DemoControls, startWtServer, type WtServer } from "../src/demo/wtserver.ts";

const SERVERS = [{ name: "wt1", port: 9090 }, { name: "wt2", port: 9091 }];

const args = [...Deno.args];
const withLog = args.includes("--log");
const fIndex = args.indexOf("-f");
const file = fIndex !== -1 && args[fIndex + 1]
  ? args[fIndex + 1]
  : new URL("../config.example.yaml", import.meta.url).pathname;

const running = new Map<string, WtServer>();
let runtime: Runtime | null = null;
// Wt's session timeout is 600 s; the demo uses a short one so that a drained server is free
// soon after its last tab closed (the proxy's wt-sessions timeout is set to the same).
const SESSION_TIMEOUT_MS = 20_000;

function setAdmin(name: string, state: "DRAIN" | "READY"): Promise<void> {
  const def = SERVERS.find((s) => s.name === name);
  if (def && runtime) setDrain(runtime, def.port, state);
  return Promise.resolve();
}

const controls: DemoControls = {
  list: () =>
    SERVERS.map((s) => ({
      ...s,
      running: running.has(s.name),
      ...(runtime ? proxyView(runtime, s.port) : {}),
    })),
  drain: (name) => setAdmin(name, "DRAIN"),
  ready: (name) => setAdmin(name, "READY"),
  async stop(name) {
    const srv = running.get(name);
    if (!srv) return;
    running.delete(name);
    await srv.stop();
    console.log(`demo: ${name} stopped (its sessions are gone, as when a Wt process dies)`);
  },
  async start(name) {
    const def = SERVERS.find((s) => s.name === name);
    if (!def || running.has(name)) return;
    running.set(
      name,
      await startWtServer({
        prefix: name,
        port: def.port,
        controls,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
      }),
    );
    console.log(`demo: ${name} started on 127.0.0.1:${def.port}`);
  },
};

async function main(): Promise<void> {
  let config;
  try {
    const loaded = await loadConfig(file);
    config = loaded.config;
    for (const w of loaded.warnings) console.error(formatDiagnostic(w));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(1);
    }
    throw err;
  }

  for (const s of SERVERS) {
    try {
      await controls.start(s.name);
    } catch (err) {
      console.error(`demo: cannot start ${s.name} on port ${s.port}: ${err}`);
      Deno.exit(1);
    }
  }

  const wt = config.global.wtSessions;
  if (wt) {
    config = {
      ...config,
      global: { ...config.global, wtSessions: { ...wt, timeout: SESSION_TIMEOUT_MS } },
    };
  }
  const rt = await startRuntime(config, withLog ? {} : { logging: false });
  runtime = rt;
  // Server state changes are the interesting part: print them even without --log.
  rt.state.on((e) => {
    if (e.kind !== "check") console.log(`proxy: ${e.message}`);
  });
  const ports = [...new Set(rt.listeners.map((l) => l.port))];
  console.log(`
wtproxy demo: ${file}
  wt1 -> 127.0.0.1:9090, wt2 -> 127.0.0.1:9091 (Wt-like servers, --session-id-prefix wt1/wt2)
  open  http://127.0.0.1:${ports[0]}/   (requests without a session are balanced round robin)
  keys  1 = stop/start wt1, 2 = stop/start wt2, q = quit   (or the buttons on the page)
  drain a server from the page: no new session goes there, live ones keep working; Wt session
  timeout ${
    SESSION_TIMEOUT_MS / 1000
  } s in the demo (600 s in Wt), so it is free soon after its tabs closed
`);

  let quitting = false;
  const quit = async () => {
    if (quitting) return;
    quitting = true;
    console.log("demo: stopping");
    if (Deno.stdin.isTerminal()) Deno.stdin.setRaw(false);
    await rt.stop(1000);
    for (const name of [...running.keys()]) await controls.stop(name);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", quit);
  Deno.addSignalListener("SIGTERM", quit);

  if (!Deno.stdin.isTerminal()) return;
  Deno.stdin.setRaw(true, { cbreak: true });
  const buf = new Uint8Array(16);
  while (!quitting) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    for (const b of buf.subarray(0, n)) {
      const key = String.fromCharCode(b);
      if (key === "q" || b === 3 || b === 4) await quit();
      const def = SERVERS[Number(key) - 1];
      if (def) {
        if (running.has(def.name)) await controls.stop(def.name);
        else await controls.start(def.name);
      }
    }
  }
}

await main();
