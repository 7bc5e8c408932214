// The command line as a user runs it: `deno run -A src/main.ts ...` in a subprocess.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function wtproxy(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/** No JavaScript stack trace leaks to a user. */
function noStack(r: Run): void {
  assert(!/^\s+at /m.test(r.stderr) && !r.stderr.includes("Uncaught"), r.stderr);
}

async function tempFile(text: string, suffix = ".yaml"): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "wtproxy-cli-", suffix });
  await Deno.writeTextFile(path, text);
  return path;
}

const VALID = `defaults:
  timeouts: { connect: 5s, client: 50s, server: 50s }
frontends:
  f:
    bind: "127.0.0.1:0"
    default_backend: b
backends:
  b:
    servers: { s1: "127.0.0.1:9" }
`;

Deno.test("cli: -c -f config.example.yaml exits 0 and says the file is valid", async () => {
  const r = await wtproxy("-c", "-f", "config.example.yaml");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertEquals(lines(r.stdout), ["Configuration file is valid: config.example.yaml"]);
});

Deno.test("cli: an unknown key on line N exits 1 naming FILE:N", async () => {
  const file = await tempFile(
    VALID.replace("    default_backend: b\n", "    default_backend: b\n    colour: blue\n"),
  );
  try {
    const r = await wtproxy("--check", "--config", file);
    assertEquals(r.code, 1);
    assertEquals(lines(r.stderr), [
      `${file}:7:5: error: unknown key "colour" in frontend 'f' (expected one of: bind, acls, use_backend, default_backend, mode, log, options, retries, maxconn, timeouts, monitor-uri, http-request, http-response, tcp-request, errorfiles, stats, monitor-fail)`,
    ]);
    assertEquals(r.stdout, "");
    noStack(r);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("cli: every error of the file at once, FILE:LINE:COL: error: text", async () => {
  const file = await tempFile(
    VALID.replace("127.0.0.1:0", "127.0.0.1:99999").replace(
      "default_backend: b",
      "default_backend: c",
    ),
  );
  try {
    const r = await wtproxy("-c", "-f", file);
    assertEquals(r.code, 1);
    const got = lines(r.stderr);
    assertEquals(got.length, 2, r.stderr);
    assert(got[0].startsWith(`${file}:4:3: error: unable to find required default_backend: 'c'`));
    assert(got[1].startsWith(`${file}:5:11: error: frontends.f.bind: invalid port 99999`));
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("cli: warnings are printed and -c still exits 0", async () => {
  const file = await tempFile(VALID.split("\n").slice(2).join("\n"));
  try {
    const r = await wtproxy("-c", "-f", file);
    assertEquals(r.code, 0);
    const got = lines(r.stderr);
    assertEquals(got.length, 2, r.stderr);
    assert(got[0].startsWith(`${file}:2:3: warning: missing timeouts for frontend 'f': client`));
    assert(
      got[1].startsWith(`${file}:6:3: warning: missing timeouts for backend 'b': connect, server`),
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("cli: without -f, one line saying how to give a file", async () => {
  const r = await wtproxy();
  assertEquals(r.code, 2);
  assertEquals(lines(r.stderr), [
    "wtproxy: no configuration file: give one with -f FILE (e.g. -f config.example.yaml; see --help)",
  ]);
  const c = await wtproxy("-c");
  assertEquals([c.code, lines(c.stderr).length], [2, 1]);
});

Deno.test("cli: unknown flag, missing value, stray argument: one line, no stack", async () => {
  const cases: [string[], string][] = [
    [["--frobnicate"], "wtproxy: unknown option --frobnicate (see wtproxy --help)"],
    [["-x"], "wtproxy: unknown option -x (see wtproxy --help)"],
    [["-f"], "wtproxy: option -f, --config needs a value"],
    [
      ["config.example.yaml"],
      "wtproxy: unexpected argument 'config.example.yaml' (give the configuration file with -f FILE)",
    ],
  ];
  for (const [args, want] of cases) {
    const r = await wtproxy(...args);
    assertEquals(r.code, 2, args.join(" "));
    assertEquals(lines(r.stderr), [want]);
    noStack(r);
  }
});

Deno.test("cli: missing or unreadable file: one line, exit 1", async () => {
  const r = await wtproxy("-c", "-f", "no/such/file.yaml");
  assertEquals(r.code, 1);
  assertEquals(lines(r.stderr), [
    "no/such/file.yaml:1:1: error: cannot read the configuration file: no such file",
  ]);
  const dir = await wtproxy("-c", "-f", "src");
  assertEquals(dir.code, 1);
  assertEquals(lines(dir.stderr).length, 1, dir.stderr);
  noStack(dir);
});

Deno.test("cli: -v and -h", async () => {
  const v = await wtproxy("-v");
  assertEquals(v.code, 0);
  assert(/^wtproxy \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+\)\n$/.test(v.stdout), v.stdout);
  const h = await wtproxy("--help");
  assertEquals(h.code, 0);
  for (const flag of ["-f, --config FILE", "-c, --check", "-v, --version", "-h, --help"]) {
    assert(h.stdout.includes(flag), flag);
  }
});

const haveRuntime = await Deno.stat(new URL("../src/runtime.ts", import.meta.url))
  .then(() => true, () => false);

/** Starts the proxy; resolves once it printed its listening lines. */
function start(file: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "-f", file],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const waitFor = async (text: string) => {
    const deadline = Date.now() + 15000;
    while (!seen.includes(text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}" in:\n${seen}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`exited before "${text}":\n${seen}`);
      seen += value;
    }
    return seen;
  };
  const finish = async () => {
    // Drain stderr so the child can exit, then collect its status.
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
    })();
    const status = await child.status;
    return { status, stderr: () => seen };
  };
  return { child, waitFor, finish };
}

Deno.test({
  name: "cli: run mode listens, SIGHUP with a broken file keeps running, SIGTERM stops",
  ignore: !haveRuntime || Deno.build.os === "windows",
  fn: async () => {
    const file = await tempFile(VALID);
    const p = start(file);
    try {
      const out = await p.waitFor("listening on");
      assert(/wtproxy: frontend f listening on 127\.0\.0\.1:\d+/.test(out), out);
      await Deno.writeTextFile(file, VALID.replace("bind:", "bnd:"));
      p.child.kill("SIGHUP");
      await p.waitFor("still running the previous configuration");
      await Deno.writeTextFile(file, VALID);
      p.child.kill("SIGHUP");
      await p.waitFor(`reloaded ${file}`);
      p.child.kill("SIGTERM");
      const { status, stderr } = await p.finish();
      assertEquals(status.code, 0, stderr());
      assert(stderr().includes(`${file}:4:3: error: frontend 'f' has no bind`), stderr());
    } finally {
      try {
        p.child.kill("SIGKILL");
      } catch { /* already exited */ }
      await p.child.status;
      await Deno.remove(file);
    }
  },
});
