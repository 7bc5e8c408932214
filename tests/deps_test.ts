// The runtime fetches only what it imports (issue 17): a fresh `deno task start` (empty
// DENO_DIR) initializes every npm package in deno.lock and every import in deno.json, so both
// must list only packages the proxy's module graph uses. Test-only packages (playwright-core
// for the browser tests) live in tests/test.lock, which `deno task test`/`check` use.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** The proxy's entry points: src/main.ts and the workers it starts (new URL("./x.ts")). */
async function entries(): Promise<string[]> {
  const out = [`${ROOT}src/main.ts`];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        for (const m of text.matchAll(/new URL\("(\.[^"]+\.ts)", import\.meta\.url\)/g)) {
          out.push(new URL(m[1], `file://${path}`).pathname);
        }
      }
    }
  };
  await walk(`${ROOT}src`);
  return [...new Set(out)];
}

/** npm packages ("name@version") and module specifiers of one entry's graph. */
async function graph(entry: string): Promise<{ npm: string[]; modules: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  // (npmPackages lists every package in the lock file: start from the modules' own packages.)
  const all: Record<string, { dependencies?: string[] }> = info.npmPackages ?? {};
  const used = new Set<string>();
  const add = (p: string) => {
    if (used.has(p)) return;
    used.add(p);
    for (const d of all[p]?.dependencies ?? []) add(d);
  };
  const list: { kind: string; specifier: string; npmPackage?: string }[] = info.modules ?? [];
  for (const m of list) if (m.npmPackage) add(m.npmPackage);
  return { npm: [...used], modules: list.map((m) => m.specifier) };
}

Deno.test("deps: deno.lock and deno.json imports hold only the runtime's packages", async () => {
  const runtime = new Set<string>();
  const modules: string[] = [];
  for (const entry of await entries()) {
    const g = await graph(entry);
    for (const p of g.npm) runtime.add(p);
    modules.push(...g.modules);
  }
  assert([...runtime].some((p) => p.startsWith("yaml@")), [...runtime].join()); // the graph was read
  assertEquals(modules.filter((m) => m.includes("playwright")), []);
  // Every npm package the lock file would make a fresh start fetch is one the runtime imports.
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}deno.lock`));
  const locked = Object.keys(lock.npm ?? {});
  assertEquals(
    locked.filter((p) => !runtime.has(p)),
    [],
    "deno.lock lists packages the runtime does not import (a test run without " +
      "--lock=tests/test.lock added them? `git checkout deno.lock`)",
  );
  // And the import map names only those packages.
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const imported = Object.values(config.imports ?? {}) as string[];
  assertEquals(
    imported.filter((s) => !runtime.has(s.replace(/^npm:/, ""))),
    [],
    "deno.json imports a package the runtime does not use: import it from the test that needs it",
  );
});
