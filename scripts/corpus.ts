// deno run -A scripts/corpus.ts [--dir tests/config/corpus] [--only NAME] [--verbose]
//
// Runs `haproxy -c -f` and `wtproxy -c -f` on every real-world HAProxy file of the corpus
// (tests/config/corpus/*.cfg, sources in SOURCES.md) and reports: files HAProxy 2.6 accepts,
// files wtproxy accepts (of those, and overall), wtproxy's refused keywords by number of files,
// and any crash (an exit code other than 0/1, or a stack trace). Each file is checked as its
// author ran it: environment variables it uses are set, the files it names are stubbed
// (scripts/corpus_prepare.ts), and HAProxy runs in a private mount namespace whose /etc/hosts
// maps the file's server host names to 127.0.0.1 (and gets a final LF added when missing).
import { parseArgs } from "node:util";
import { makePem, prepare } from "./corpus_prepare.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    dir: { type: "string", default: "tests/config/corpus" },
    only: { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});

const DIR = args.values.dir!;
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

interface Result {
  name: string;
  haproxy: boolean;
  haproxyAlert: string;
  wtproxy: boolean;
  crash: string;
  errors: { line: number; col: number; text: string; keyword: string }[];
}

async function run(
  cmd: string,
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(cmd, {
    args: argv,
    env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 60_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout) + dec.decode(stderr) };
}

const COMPOSITE = new Set([
  "option",
  "no",
  "http-request",
  "http-response",
  "http-after-response",
  "tcp-request",
  "tcp-response",
  "stats",
  "timeout",
  "http-check",
  "tcp-check",
  "compression",
  "http-error",
]);

/** The directive a message points at, in HAProxy's words (`option mysql-check`, `bind … ssl`). */
function keywordAt(lines: string[], line: number, col: number): string {
  const src = (lines[line - 1] ?? "").replace(/\r$/, "");
  const words = [...src.matchAll(/\S+/g)];
  if (words.length === 0) return "(file)";
  let kw = words[0][0];
  let used = 1;
  if (COMPOSITE.has(kw) && words[1]) {
    kw += " " + words[1][0];
    used = 2;
  }
  if (kw.startsWith("#")) return "(comment)";
  const at = words.findIndex((w) => col - 1 >= w.index! && col - 1 < w.index! + w[0].length);
  if (at >= used) kw += ` … ${words[at][0].replace(/\(.*$/, "(…)")}`;
  return kw;
}

const STACK = /^\s+at .+:\d+:\d+\)?$|Uncaught|panicked|RUST_BACKTRACE/m;

async function checkOne(name: string, pem: string): Promise<Result> {
  const dir = await Deno.makeTempDir({ prefix: "wtproxy-corpus-" });
  try {
    const original = await Deno.readTextFile(`${DIR}/${name}`);
    const prep = prepare(original, { dir: `${dir}/stub`, pem });
    const file = `${dir}/${name}`;
    await Deno.writeTextFile(file, prep.text);
    // HAProxy refuses a last line without LF ("file might have been truncated"); many stored
    // copies lack it, so HAProxy checks a copy with the LF added (wtproxy sees the file as is).
    const hfile = `${dir}/lf-${name}`;
    await Deno.writeTextFile(hfile, prep.text.endsWith("\n") ? prep.text : prep.text + "\n");
    const hostsFile = `${dir}/hosts`;
    await Deno.writeTextFile(
      hostsFile,
      `127.0.0.1 localhost ${prep.hosts.join(" ")}\n::1 localhost ip6-localhost\n`,
    );
    const env = { ...prep.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
    const h = await run("unshare", [
      "-rm",
      "sh",
      "-c",
      `mount --bind "$0" /etc/hosts && exec haproxy -c -f "$1"`,
      hostsFile,
      hfile,
    ], env);
    const w = await run(Deno.execPath(), ["run", "-A", MAIN, "-c", "-f", file], {
      ...env,
      HOME: Deno.env.get("HOME") ?? "/root",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
      NO_COLOR: "1",
    });
    const lines = original.split("\n");
    const errors = [...w.out.matchAll(/^.*?:(\d+):(\d+): error: (.*)$/gm)].map((m) => ({
      line: Number(m[1]),
      col: Number(m[2]),
      text: m[3],
      keyword: keywordAt(lines, Number(m[1]), Number(m[2])),
    }));
    const crash = (w.code !== 0 && w.code !== 1) || STACK.test(w.out)
      ? `exit ${w.code}: ${w.out.split("\n").slice(0, 6).join(" | ")}`
      : "";
    return {
      name,
      haproxy: h.code === 0,
      haproxyAlert: h.out.split("\n").find((l) => l.includes("[ALERT]")) ?? "",
      wtproxy: w.code === 0,
      crash,
      errors,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = [...Deno.readDirSync(DIR)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".cfg") && (!args.values.only || n.includes(args.values.only)))
  .sort();
const pemDir = await Deno.makeTempDir({ prefix: "wtproxy-corpus-pem-" });
const pem = await makePem(pemDir);
await Deno.remove(pemDir, { recursive: true });

const results: Result[] = [];
const queue = [...names];
await Promise.all([0, 1].map(async () => {
  for (let name = queue.shift(); name; name = queue.shift()) {
    results.push(await checkOne(name, pem));
  }
}));
results.sort((a, b) => a.name.localeCompare(b.name));

const hOk = results.filter((r) => r.haproxy);
const both = hOk.filter((r) => r.wtproxy);
const wOk = results.filter((r) => r.wtproxy);
const pct = (a: number, b: number) => b === 0 ? "-" : `${Math.round((100 * a) / b)}%`;

const byKeyword = new Map<string, Set<string>>();
const byKeywordH = new Map<string, Set<string>>();
for (const r of results) {
  for (const e of r.errors) {
    (byKeyword.get(e.keyword) ?? byKeyword.set(e.keyword, new Set()).get(e.keyword)!).add(r.name);
    if (r.haproxy) {
      (byKeywordH.get(e.keyword) ?? byKeywordH.set(e.keyword, new Set()).get(e.keyword)!)
        .add(r.name);
    }
  }
}

console.log(`# Corpus: ${results.length} real HAProxy files (${DIR})\n`);
console.log(`- HAProxy 2.6 accepts: ${hOk.length} of ${results.length}`);
console.log(
  `- wtproxy accepts: ${both.length} of those ${hOk.length} (${pct(both.length, hOk.length)}); ` +
    `${wOk.length} of all ${results.length}`,
);
const wOnly = wOk.filter((r) => !r.haproxy);
if (wOnly.length) {
  console.log(`- wtproxy accepts, HAProxy refuses: ${wOnly.map((r) => r.name).join(", ")}`);
}
const crashes = results.filter((r) => r.crash);
console.log(`- crashes / stack traces: ${crashes.length}`);
for (const r of crashes) console.log(`  - ${r.name}: ${r.crash}`);

console.log(`\n## Refused by wtproxy (files affected; in files HAProxy accepts)\n`);
console.log("| keyword | files | of HAProxy-accepted |");
console.log("| --- | --- | --- |");
for (const [kw, set] of [...byKeyword].sort((a, b) => b[1].size - a[1].size)) {
  console.log(`| \`${kw}\` | ${set.size} | ${byKeywordH.get(kw)?.size ?? 0} |`);
}

console.log(`\n## Per file\n`);
console.log("| file | HAProxy | wtproxy | wtproxy errors |");
console.log("| --- | --- | --- | --- |");
for (const r of results) {
  const errs = r.errors.map((e) => `${e.line}:${e.col} ${e.keyword}`).join("; ");
  console.log(
    `| ${r.name} | ${r.haproxy ? "ok" : "refused"} | ${r.wtproxy ? "ok" : "refused"} | ${errs} |`,
  );
}
if (args.values.verbose) {
  console.log(`\n## Messages\n`);
  for (const r of results) {
    if (!r.haproxy) console.log(`${r.name}: HAProxy: ${r.haproxyAlert}`);
    for (const e of r.errors) console.log(`${r.name}:${e.line}:${e.col}: ${e.text}`);
  }
}
if (crashes.length) Deno.exitCode = 1;
