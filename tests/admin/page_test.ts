// The live stats page in real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): it renders every proxy, and a server going DOWN shows within seconds
// without a reload. Saves screenshots/stats.png (and stats-down.png) for a human look.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startAdmin } from "../../src/admin/server.ts";
import { applyCheckResult, setAdminState } from "../../src/health/machine.ts";
import type { CheckResult } from "../../src/health/checker.ts";
import { adminConfig, fakeRuntime } from "./fixture.ts";
import { launchChromium, skipBrowser } from "../helpers/browser.ts";

// Page-side expressions as strings (the test itself is type-checked without the DOM lib).
const statusIs = (key: string, text: string) =>
  `document.querySelector('tr[data-key="${key}"] td.st')?.textContent === ${JSON.stringify(text)}`;
const background = (sel: string) =>
  `getComputedStyle(document.querySelector(${JSON.stringify(sel)})).backgroundColor`;

Deno.test({
  name: "stats page: renders in Chromium and shows a server going DOWN live",
  ignore: skipBrowser,
  sanitizeResources: false, // the browser's pipes belong to playwright
  sanitizeOps: false,
  async fn() {
    const rt = fakeRuntime();
    // some traffic so the page has numbers and a chart
    const st = rt.state;
    const fe = st.frontends.get("proxied")!.counters;
    const sv = st.server("bck1", "srv1")!;
    const s2 = st.server("bck2", "srv2")!;
    const ok: CheckResult = {
      ok: true,
      durationMs: 1,
      reason: "Layer4 check passed",
      status: "L4OK",
    };
    const refused: CheckResult = {
      ok: false,
      durationMs: 0,
      reason: 'Layer4 connection problem, info: "Connection refused"',
      status: "L4CON",
    };
    applyCheckResult(st, sv, ok);
    applyCheckResult(st, s2, ok);
    const traffic = setInterval(() => {
      for (let i = 0; i < 5; i++) {
        for (const c of [fe, st.backends.get("bck1")!.counters, sv.counters]) {
          c.requests++;
          c.countStatus(200);
          c.bytesOut += 2048;
          c.observeTime(10 + Math.random() * 30);
        }
      }
    }, 100);
    const admin = await startAdmin(rt, adminConfig("127.0.0.1", "tok"), { samplePeriodMs: 250 });
    const browser = await launchChromium({
      // the browser's side of the token: HTTP Basic with the token as password
      httpCredentials: { username: "admin", password: "tok" },
      viewport: { width: 1500, height: 900 },
    });
    const { context } = browser;
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const resp = await page.goto(`http://127.0.0.1:${admin.addr.port}/stats`);
      assertEquals(resp?.status(), 200);
      await page.waitForSelector('tr[data-key="bck1/srv1"] td.st', { timeout: 10_000 });
      assertEquals(await page.textContent('tr[data-key="bck1/srv1"] td.st'), "UP");
      assertEquals(
        await page.textContent('tr[data-key="bck_lb/srv1"] td.st'),
        "UP",
      );
      for (const name of ["bck1", "bck2", "bck_lb"]) {
        assert(await page.$(`table[data-backend="${name}"]`), `backend ${name} shown`);
      }
      assert(await page.$('table[data-frontend="proxied"]'), "frontend shown");
      // events connected, chart drawn from a few samples
      await page.waitForFunction(
        `document.getElementById("livetext")?.textContent === "live (events)"`,
        undefined,
        { timeout: 10_000 },
      );
      await page.waitForSelector('table[data-backend="bck1"] svg.spark polygon', {
        timeout: 10_000,
      });
      const green = await page.evaluate(background('tr[data-key="bck1/srv1"] td.st'));
      assertEquals(green, "rgb(192, 255, 192)");
      await Deno.mkdir("screenshots", { recursive: true });
      await page.screenshot({ path: "screenshots/stats.png", fullPage: true });

      // bck2/srv2 goes DOWN through the health room, bck1/srv1 to MAINT through the API's call
      const t0 = Date.now();
      // `fall` (3) failed checks in a row, as the health scheduler would apply them
      for (let i = 0; i < s2.config.fall; i++) applyCheckResult(st, s2, refused);
      assertEquals(s2.health, "DOWN");
      setAdminState(st, "bck1/srv1", "MAINT");
      await page.waitForFunction(
        [
          statusIs("bck2/srv2", "DOWN"),
          statusIs("bck_lb/srv2", "DOWN"),
          statusIs("bck_lb/srv1", "MAINT (via bck1/srv1)"),
        ].join(" && "),
        undefined,
        { timeout: 5_000 },
      );
      const latency = Date.now() - t0;
      assert(latency < 5000, `shown after ${latency} ms`);
      const red = await page.evaluate(background('tr[data-key="bck2/srv2"] td.st'));
      assertEquals(red, "rgb(255, 144, 144)");
      assertEquals(
        await page.textContent('table[data-backend="bck2"] tr.total td.st'),
        "DOWN",
      );
      await page.screenshot({ path: "screenshots/stats-down.png", fullPage: true });
      assertEquals(errors, []);
    } finally {
      clearInterval(traffic);
      await browser.close();
      await admin.stop();
    }
  },
});
