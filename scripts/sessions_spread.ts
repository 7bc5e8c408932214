// `deno run -A scripts/sessions_spread.ts`: how evenly new Wt sessions spread over the two demo
// servers behind config.example.yaml (the recipe, with the session table on), with bck_lb's
// `balance` roundrobin vs sessions. 60 new sessions one after the other, each as a browser
// opens the page: GET / (balanced), its boot script `?wtd=<id>&request=script` (routed to its
// server by the ACLs), then requests without `wtd` that take a turn in the balancer too:
// favicon.ico, the demo page's first /__demo/status poll, or a seeded random 0..3 of them.
// Prints the live sessions per server for each pattern.

import { loadConfigText } from "../src/config/load.ts";
import { startRuntime } from "../src/runtime.ts";
import { startWtServer } from "../src/demo/wtserver.ts";

const PATTERNS: [string, (i: number, rnd: () => number) => string[]][] = [
  ["page + favicon", () => ["/favicon.ico"]],
  ["page + favicon + status poll", () => ["/favicon.ico", "/__demo/status"]],
  [
    "page + 0..3 resources (seeded random)",
    (_i, rnd) => Array.from({ length: Math.floor(rnd() * 4) }, (_, k) => `/static/r${k}.css`),
  ],
];

async function run(
  balance: string,
  extra: (i: number, rnd: () => number) => string[],
  seed0 = 42,
) {
  const wt1 = await startWtServer({ prefix: "wt1", port: 0 });
  const wt2 = await startWtServer({ prefix: "wt2", port: 0 });
  const yaml = Deno.readTextFileSync(new URL("../config.example.yaml", import.meta.url))
    .replace("0.0.0.0:8080", "127.0.0.1:0")
    .replaceAll("127.0.0.1:9090", `127.0.0.1:${wt1.port}`)
    .replaceAll("127.0.0.1:9091", `127.0.0.1:${wt2.port}`)
    .replace(/(bck_lb:\n\s+balance: )\S+/, `$1${balance}`);
  const { config } = await loadConfigText(yaml, "config.example.yaml");
  const rt = await startRuntime(config, { logging: false, health: false, admin: false });
  const front = `http://127.0.0.1:${rt.listeners[0].port}`;
  let seed = seed0;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  try {
    for (let i = 0; i < 60; i++) {
      const page = await fetch(front + "/");
      await page.body?.cancel();
      const id = page.headers.get("x-wt-session")!;
      const script = await fetch(`${front}/?wtd=${id}&request=script`);
      await script.body?.cancel();
      for (const path of extra(i, rnd)) await (await fetch(front + path)).body?.cancel();
    }
    const s = rt.sessions!;
    return [s.count("bck1/srv1"), s.count("bck2/srv2")];
  } finally {
    await rt.stop(500);
    await wt1.stop();
    await wt2.stop();
  }
}

console.log("60 new sessions, live Wt sessions on wt1 / wt2:");
for (const [name, extra] of PATTERNS) {
  const seeds = name.includes("random") ? [42, 1, 2, 3, 4] : [42];
  for (const seed of seeds) {
    const rr = await run("roundrobin", extra, seed);
    const ss = await run("sessions", extra, seed);
    const label = seeds.length > 1 ? `${name} #${seed}` : name;
    console.log(`  ${label.padEnd(44)} roundrobin ${rr.join(" / ")}   sessions ${ss.join(" / ")}`);
  }
}
