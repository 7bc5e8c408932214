// The recipe as the user writes it: config.example.yaml and the Wt wiki's HAProxy file, loaded
// by the config room and routed by ours; same result as the hand-built configuration.
import { equal } from "node:assert/strict";
import { loadConfig, loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/model.ts";
import { req } from "../balance/fixture.ts";
import { pipeline } from "../balance/pipeline.ts";

// The Wt wiki's file, verbatim (tests/fixtures/seed; the ports of the servers are what matter).
const AFFINITY_CFG = new URL("../fixtures/seed/affinity.cfg", import.meta.url).pathname;

function exercise(config: Config): void {
  const p = pipeline(config);
  const lb: string[] = [];
  for (let i = 0; i < 1100; i++) {
    const k = i % 3;
    const target = k === 0 ? `/?wtd=wt1abc${i}` : k === 1 ? `/?wtd=wt2abc${i}` : "/";
    const r = p.pick(req(target))!;
    if (k === 0) equal(`${r.backend}/${r.server}`, "bck1/srv1", target);
    else if (k === 1) equal(`${r.backend}/${r.server}`, "bck2/srv2", target);
    else lb.push(r.server);
  }
  lb.forEach((s, i) => equal(s, i % 2 === 0 ? "srv1" : "srv2"));
  p.setHealth("bck2/srv2", "DOWN");
  equal(p.pick(req("/?wtd=wt2abc"))!.address.endsWith(":9090"), true);
}

Deno.test("config.example.yaml routes like the recipe", async () => {
  const { config } = await loadConfig(
    new URL("../../config.example.yaml", import.meta.url).pathname,
  );
  exercise(config);
});

Deno.test("the Wt wiki's HAProxy file routes like the recipe", async () => {
  const { config } = await loadConfigText(
    await Deno.readTextFile(AFFINITY_CFG),
    "affinity.cfg",
    "cfg",
  );
  exercise(config);
});
