// The demo as a person sees it, in real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): the proxy on config.example.yaml in front of two Wt-like servers. The page
// keeps its session on one server, the push ticks arrive over the WebSocket through the proxy,
// and when that server stops the user lands in a fresh session on the other one.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { startRuntime } from "../../src/runtime.ts";
import { startWtServer, type WtServer } from "../../src/demo/wtserver.ts";
import { launchChromium, skipBrowser } from "../helpers/browser.ts";

Deno.test({
  name: "demo in Chromium: session sticks, push ticks arrive, failover to a fresh session",
  ignore: skipBrowser,
  sanitizeResources: false, // playwright's pipes to the browser outlive the test body briefly
  sanitizeOps: false,
  async fn() {
    const servers: Record<string, WtServer> = {
      wt1: await startWtServer({ prefix: "wt1", port: 0, hostname: "127.0.0.1" }),
      wt2: await startWtServer({ prefix: "wt2", port: 0, hostname: "127.0.0.1" }),
    };
    const yaml = Deno.readTextFileSync(new URL("../../config.example.yaml", import.meta.url))
      .replace("0.0.0.0:8080", "127.0.0.1:0")
      .replaceAll("127.0.0.1:9090", `127.0.0.1:${servers.wt1.port}`)
      .replaceAll("127.0.0.1:9091", `127.0.0.1:${servers.wt2.port}`);
    const { config } = await loadConfigText(yaml, "config.example.yaml");
    const rt = await startRuntime(config, { logging: false, admin: false });
    const front = `http://127.0.0.1:${rt.listeners[0].port}`;
    const browser = await launchChromium({ viewport: { width: 1100, height: 800 } });
    const stopped = new Set<string>();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      // WebSocket frames the page received, and sockets that failed (e.g. a gzipped stream:
      // "Invalid frame header"), seen from Chromium's side.
      let frames = 0;
      const wsErrors: string[] = [];
      page.on("websocket", (ws) => {
        ws.on("framereceived", () => frames++);
        ws.on("socketerror", (e) => wsErrors.push(String(e)));
      });
      assertEquals((await page.goto(front + "/"))?.status(), 200);
      const home = await page.getAttribute("body", "data-server");
      const session = await page.getAttribute("body", "data-session");
      assert(home === "wt1" || home === "wt2", `served by ${home}`);
      assert(session?.startsWith(home), `session ${session} carries the prefix ${home}`);

      // Push ticks over the WebSocket, through the proxy, from the session's own server.
      await page.waitForFunction(
        `/^tick [1-9]\\d* from ${home}$/.test(document.getElementById("push")?.textContent ?? "")`,
        undefined,
        { timeout: 10_000 },
      ).catch((e) => {
        throw new Error(`no push tick: ${frames} frames, socket errors ${wsErrors}: ${e}`);
      });
      assert(frames >= 2, `${frames} WebSocket frames received`);
      assertEquals(wsErrors, []);
      // AJAX updates carry ?wtd= and are answered by the same server.
      await page.waitForFunction(
        `Number(document.getElementById("updates").textContent) >= 2`,
        undefined,
        { timeout: 10_000 },
      );
      assertEquals(await page.textContent("#last"), home);
      await Deno.mkdir("screenshots", { recursive: true });
      await page.screenshot({ path: "screenshots/demo.png", fullPage: true });

      // Following the page's own link keeps the session on its server.
      await page.click("text=Reload this session");
      await page.waitForLoadState();
      assertEquals(await page.getAttribute("body", "data-server"), home);
      assertEquals(await page.getAttribute("body", "data-session"), session);

      // The session's server stops: the next AJAX update is re-routed (passive marking), the
      // other server says "reload", and the user gets a fresh session there.
      const other = home === "wt1" ? "wt2" : "wt1";
      await servers[home].stop();
      stopped.add(home);
      await page.waitForFunction(
        `document.body?.dataset.server === ${JSON.stringify(other)}`,
        undefined,
        { timeout: 15_000 },
      );
      const fresh = await page.getAttribute("body", "data-session");
      assert(fresh?.startsWith(other) && fresh !== session, `fresh session ${fresh}`);
      await page.waitForFunction(
        `/^tick \\d+ from ${other}$/.test(document.getElementById("push")?.textContent ?? "")`,
        undefined,
        { timeout: 10_000 },
      );
      await page.screenshot({ path: "screenshots/demo-failover.png", fullPage: true });
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await rt.stop(1000);
      for (const [name, s] of Object.entries(servers)) if (!stopped.has(name)) await s.stop();
    }
  },
});
