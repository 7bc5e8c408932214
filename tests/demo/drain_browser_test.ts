// The demo's drain as a newcomer does it, in Chromium: config.example.yaml (wt-sessions on,
// a short session timeout here), two Wt-like servers with the page's controls. Drain the
// server of one tab from the page: that tab keeps its session and its pushes (frames counted),
// a new tab lands on the other server, and once the drained tab is closed and its session timed
// out, the other tab's page says the drained server is free.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { startRuntime } from "../../src/runtime.ts";
import { proxyView, setDrain } from "../../src/demo/drain.ts";
import { type DemoControls, startWtServer, type WtServer } from "../../src/demo/wtserver.ts";
import { launchChromium, skipBrowser } from "../helpers/browser.ts";

const TIMEOUT_MS = 2000;

Deno.test({
  name: "demo in Chromium: drain a tab's server from the page; it keeps working, then is free",
  ignore: skipBrowser,
  sanitizeResources: false, // playwright's pipes to the browser outlive the test body briefly
  sanitizeOps: false,
  async fn() {
    const servers: Record<string, WtServer> = {};
    const ports: Record<string, number> = {};
    let rt: Awaited<ReturnType<typeof startRuntime>> | null = null;
    const controls: DemoControls = {
      list: () =>
        Object.entries(servers).map(([name, s]) => ({
          name,
          port: s.port,
          running: true,
          ...(rt ? proxyView(rt, s.port) : {}),
        })),
      stop: () => Promise.resolve(),
      start: () => Promise.resolve(),
      drain: (name) => Promise.resolve(rt ? setDrain(rt, ports[name], "DRAIN") : undefined),
      ready: (name) => Promise.resolve(rt ? setDrain(rt, ports[name], "READY") : undefined),
    };
    for (const name of ["wt1", "wt2"]) {
      servers[name] = await startWtServer({ prefix: name, port: 0, controls });
      ports[name] = servers[name].port;
    }
    const yaml = Deno.readTextFileSync(new URL("../../config.example.yaml", import.meta.url))
      .replace("0.0.0.0:8080", "127.0.0.1:0")
      .replace("timeout: 600s", `timeout: ${TIMEOUT_MS}ms`)
      .replaceAll("127.0.0.1:9090", `127.0.0.1:${ports.wt1}`)
      .replaceAll("127.0.0.1:9091", `127.0.0.1:${ports.wt2}`);
    const { config } = await loadConfigText(yaml, "config.example.yaml");
    assertEquals(config.global.wtSessions?.timeout, TIMEOUT_MS);
    rt = await startRuntime(config, { logging: false, admin: false, health: false });
    const front = `http://127.0.0.1:${rt.listeners[0].port}/`;
    const browser = await launchChromium({ viewport: { width: 1000, height: 800 } });
    try {
      const open = async () => {
        const page = await browser.context.newPage();
        let frames = 0;
        page.on("websocket", (ws) => ws.on("framereceived", () => frames++));
        assertEquals((await page.goto(front))?.status(), 200);
        await page.waitForFunction(
          `/^tick \\d+/.test(document.getElementById("push")?.textContent)`,
        );
        return {
          page,
          frames: () => frames,
          server: (await page.getAttribute("body", "data-server"))!,
        };
      };
      const a = await open();
      const b = await open();
      assert(a.server !== b.server, `${a.server} / ${b.server}`);
      const session = await a.page.getAttribute("body", "data-session");
      const row = (p: typeof a, name: string) =>
        p.page.locator(`#servers [data-server=${name}] .state`);

      // Drain a's server from a's page.
      await a.page.click(`#servers [data-server=${a.server}] button:nth-of-type(2)`);
      await a.page.waitForFunction(
        `document.querySelector("#servers [data-server=${a.server}] .state")?.textContent.includes("draining")`,
      );
      const before = a.frames();
      const updates = Number(await a.page.textContent("#updates"));
      await a.page.waitForFunction(
        `Number(document.getElementById("updates").textContent) >= ${updates + 2}`,
      );
      assert(a.frames() >= before + 1, "pushes keep arriving over the WebSocket");
      assertEquals(await a.page.getAttribute("body", "data-session"), session, "same session");
      assertEquals(await a.page.textContent("#last"), a.server);

      // New tabs land on the other server.
      for (let i = 0; i < 2; i++) {
        const c = await browser.context.newPage();
        await c.goto(front);
        assertEquals(await c.getAttribute("body", "data-server"), b.server);
        await c.close();
      }

      // The drained tab closes; after the session timeout the other tab says it is free.
      await a.page.close();
      await b.page.waitForFunction(
        `document.querySelector("#servers [data-server=${a.server}] .state")?.textContent.includes("drained")`,
        undefined,
        { timeout: TIMEOUT_MS * 5 },
      );
      assert((await row(b, a.server).textContent())!.includes("free to stop or restart"));
      await Deno.mkdir("screenshots", { recursive: true });
      await b.page.screenshot({ path: "screenshots/demo-drained.png", fullPage: true });
    } finally {
      await browser.close();
      await rt.stop(1000);
      for (const s of Object.values(servers)) await s.stop();
    }
  },
});
