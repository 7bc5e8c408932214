// The Wt wiki's affinity.cfg (only addresses moved to test ports) and config.example.yaml,
// each run by the real proxy in front of two Wt-like servers: over the same request sequence,
// with bck1/srv1 up, in maintenance and back, every request reaches the same Wt server.

import { testRuntime } from "../helpers/threads.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";

import { setAdminState } from "../../src/health/machine.ts";
import { startWtServer } from "../../src/demo/wtserver.ts";

const read = (rel: string) => Deno.readTextFileSync(new URL(rel, import.meta.url));

const SEQUENCE = [
  "/",
  "/",
  "/?wtd=wt1AAAAAAAAAAAAAAAA",
  "/?wtd=wt2BBBBBBBBBBBBBBBB",
  "/app?wtd=wt1CCCCCCCCCCCCCCCC&request=jsupdate",
  "/x?WTD=WT1", // case-sensitive: balanced
  "/app?wtd%3Dwt2abc", // no percent-decoding: balanced
  "/?a=1&wtd=wt2DDDDDDDDDDDDDDDD",
  "/",
  "/?wtd=wt1EEEEEEEEEEEEEEEE",
  "/",
];

async function answers(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const path of SEQUENCE) {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    await r.body?.cancel();
    out.push(`${path} -> ${r.status} ${r.headers.get("x-wt-server")}`);
  }
  return out;
}

Deno.test("affinity.cfg and config.example.yaml route the same request sequence alike", async () => {
  const wt1 = await startWtServer({ prefix: "wt1", port: 0, hostname: "127.0.0.1" });
  const wt2 = await startWtServer({ prefix: "wt2", port: 0, hostname: "127.0.0.1" });
  const cfg = read("../fixtures/seed/affinity.cfg")
    .replace("bind 0.0.0.0:80", "bind 127.0.0.1:0")
    .replaceAll("0.0.0.0:9090", `127.0.0.1:${wt1.port}`)
    .replaceAll("0.0.0.0:9091", `127.0.0.1:${wt2.port}`);
  const yaml = read("../../config.example.yaml")
    .replace("0.0.0.0:8080", "127.0.0.1:0")
    .replaceAll("127.0.0.1:9090", `127.0.0.1:${wt1.port}`)
    .replaceAll("127.0.0.1:9091", `127.0.0.1:${wt2.port}`);
  const runs: string[][] = [];
  try {
    for (const [text, file] of [[cfg, "affinity.cfg"], [yaml, "config.example.yaml"]]) {
      const { config } = await loadConfigText(text, file);
      const rt = await testRuntime(config, { health: false, logging: false, admin: false });
      try {
        const port = rt.listeners[0].port;
        const seen = await answers(port);
        setAdminState(rt.state, "bck1/srv1", "MAINT");
        seen.push(...await answers(port));
        setAdminState(rt.state, "bck1/srv1", "READY");
        seen.push(...await answers(port));
        runs.push(seen);
      } finally {
        await rt.stop(1000);
      }
    }
  } finally {
    await wt1.stop();
    await wt2.stop();
  }
  assertEquals(runs[0], runs[1]);
  const [up, maint] = [runs[0].slice(0, SEQUENCE.length), runs[0].slice(SEQUENCE.length)];
  // The recipe's routing, seen from outside: sessions stick, session-less requests alternate,
  // and with wt1 in maintenance its sessions land on wt2.
  assertEquals(up[2], "/?wtd=wt1AAAAAAAAAAAAAAAA -> 200 wt1");
  assertEquals(up[3], "/?wtd=wt2BBBBBBBBBBBBBBBB -> 200 wt2");
  assertEquals([up[0].slice(-3), up[1].slice(-3)].sort(), ["wt1", "wt2"]);
  assertEquals(maint[2], "/?wtd=wt1AAAAAAAAAAAAAAAA -> 200 wt2");
  assert(maint.slice(0, SEQUENCE.length).every((l) => l.endsWith(" wt2")), maint.join("\n"));
});
