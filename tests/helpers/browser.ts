// Real headless Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core
// (never a downloaded browser), with the flags this machine's closed network needs.

// Test-only: not in deno.json/deno.lock, or a fresh `deno task start` would fetch it (it is
// locked in tests/test.lock).
// deno-lint-ignore no-import-prefix
import { type BrowserContext, chromium } from "npm:playwright-core@1.65.1";

export const CHROMIUM = "/usr/bin/chromium";

/** Without Chromium a page test is skipped on a developer machine; CI installs it, so there it runs. */
export const skipBrowser = (() => {
  if (Deno.env.get("CI")) return false;
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
})();

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh browser profile; close() ends the browser and removes the profile. */
export async function launchChromium(
  opts: {
    viewport?: { width: number; height: number };
    httpCredentials?: { username: string; password: string };
    /** Accept any certificate (a test's own CA is not in Chromium's store). */
    ignoreHTTPSErrors?: boolean;
  } = {},
): Promise<Browser> {
  const userDataDir = await Deno.makeTempDir({ prefix: "wtproxy-chromium-" });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30_000,
    ...opts,
  });
  return {
    context,
    async close() {
      await context.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    },
  };
}
