// `wtproxy --healthz ADDR:PORT` (a container's HEALTHCHECK): exit 0 while the proxy is ready,
// 1 when the admin listener answers 503 or nothing listens; one line on stderr, no stack.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startRuntime } from "../../src/runtime.ts";
import { loadConfigText } from "../../src/config/load.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function probe(target: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--healthz", target],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("--healthz: 0 when ready, 1 when nothing answers", async () => {
  const { config } = await loadConfigText(
    `
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: b, timeouts: { client: 5s } }
backends:
  b:
    timeouts: { connect: 1s, server: 5s }
    servers: { s1: "127.0.0.1:9" }
admin: { bind: "127.0.0.1:0", token: s3cret }
`,
    "t.yaml",
  );
  const rt = await startRuntime(config, { logging: false, health: false });
  const addr = `127.0.0.1:${rt.adminAddr!.port}`;
  const ok = await probe(addr);
  assertEquals([ok.code, ok.stderr], [0, ""]);
  await rt.stop(0);
  const gone = await probe(addr);
  assertEquals(gone.code, 1);
  assert(gone.stderr.startsWith(`wtproxy: http://${addr}/healthz: `), gone.stderr);
  assert(!gone.stderr.includes("    at "), gone.stderr);
});
