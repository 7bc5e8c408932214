// The demo in Chromium over HTTPS: plain HTTP is redirected to https://, the page comes over
// TLS with HSTS, and Wt's push ticks arrive over wss:// through the proxy.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { launchChromium, skipBrowser } from "../helpers/browser.ts";
import { makeCa } from "../helpers/certs.ts";
import { closedPort } from "../helpers/raw_backend.ts";
import { startWtServer } from "../../src/demo/wtserver.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { startRuntime } from "../../src/runtime.ts";

Deno.test({
  name: "demo in Chromium over HTTPS: redirect from http, HSTS, push ticks over wss://",
  ignore: skipBrowser,
  sanitizeResources: false, // playwright's pipes to the browser outlive the test body briefly
  sanitizeOps: false,
  async fn() {
    const ca = await makeCa();
    const site = await ca.issue("site", ["localhost", "127.0.0.1"]);
    const wt1 = await startWtServer({ prefix: "wt1", port: 0, hostname: "127.0.0.1" });
    const wt2 = await startWtServer({ prefix: "wt2", port: 0, hostname: "127.0.0.1" });
    const plain = closedPort();
    const tls = closedPort();
    const yaml = Deno.readTextFileSync(new URL("../../config.example.yaml", import.meta.url))
      .replace(
        '    bind: ["0.0.0.0:8080"]\n',
        `    bind: ["127.0.0.1:${plain}", { address: "127.0.0.1:${tls}", ssl: { crt: "${site.pem}" } }]
    http-request:
      - redirect scheme https code 301 unless { ssl_fc }
      - set-header X-Forwarded-Proto https if { ssl_fc }
    http-response:
      - set-header Strict-Transport-Security "max-age=63072000"
`,
      )
      .replaceAll("127.0.0.1:9090", `127.0.0.1:${wt1.port}`)
      .replaceAll("127.0.0.1:9091", `127.0.0.1:${wt2.port}`);
    const { config } = await loadConfigText(yaml, "https.yaml");
    const rt = await startRuntime(config, { logging: false, admin: false });
    const browser = await launchChromium({ ignoreHTTPSErrors: true });
    try {
      const page = await browser.context.newPage();
      // http://127.0.0.1:PLAIN/ -> 301 to https://127.0.0.1:PLAIN/ (HAProxy keeps the Host's
      // port), so start on the TLS port's plain twin: check the redirect, then load over TLS.
      const r = await fetch(`http://127.0.0.1:${plain}/`, { redirect: "manual" });
      await r.body?.cancel();
      assertEquals(r.status, 301);
      assertEquals(r.headers.get("location"), `https://127.0.0.1:${plain}/`);
      const res = await page.goto(`https://localhost:${tls}/`);
      assertEquals(res?.status(), 200);
      assertEquals((await res!.allHeaders())["strict-transport-security"], "max-age=63072000");
      const home = await page.getAttribute("body", "data-server");
      assert(home === "wt1" || home === "wt2", `served by ${home}`);
      await page.waitForFunction(
        `/^tick [1-9]\\d* from ${home}$/.test(document.getElementById("push")?.textContent ?? "")`,
        undefined,
        { timeout: 10_000 },
      );
    } finally {
      await browser.close();
      await rt.stop(1000);
      await wt1.stop();
      await wt2.stop();
      await ca.remove();
    }
  },
});
