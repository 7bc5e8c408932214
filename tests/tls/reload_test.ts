// A reload with a renewed certificate (same file, new content) under traffic: new connections
// get the new certificate, a connection opened before keeps going, no request fails; a reload
// with a broken certificate is refused and the running one stays.

import { deepStrictEqual as assertEquals, match, ok as assert, rejects } from "node:assert/strict";
import { curl, makeCa } from "../helpers/certs.ts";
import { echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/model.ts";

const yaml = (be: string, crt: string) => `
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
  f:
    bind:
      - address: 127.0.0.1:0
        ssl: { crt: ${JSON.stringify(crt)} }
    default_backend: b
backends:
  b:
    servers:
      s1: { address: ${be} }
`;

/** The certificate's expiry date as curl -v prints it. */
async function expiry(port: number, caFile: string): Promise<string> {
  const r = await curl(["-v", "--cacert", caFile, `https://localhost:${port}/`]);
  assertEquals(r.code, 0, r.err);
  return /expire date: ([^\n]+)/.exec(r.err)?.[1] ?? "";
}

Deno.test("TLS reload: a renewed certificate for new connections under traffic, none failed; open ones go on", async () => {
  const ca = await makeCa();
  const be = new RawBackend(echoHead);
  const site = await ca.issue("site", ["localhost"], { days: 2 });
  const px = await startTestProxy(yaml(be.address, site.pem));
  const client = Deno.createHttpClient({ caCerts: [ca.caPem], poolMaxIdlePerHost: 0 });
  const kept = Deno.createHttpClient({ caCerts: [ca.caPem], http2: false });
  let stop = false;
  const failures: string[] = [];
  let done = 0;
  try {
    const url = `https://localhost:${px.port}/`;
    const before = await expiry(px.port, ca.caFile);
    // a kept-alive connection opened before the reload
    assertEquals((await (await fetch(url, { client: kept })).text()).slice(0, 5), "GET /");
    // traffic: new connections in a loop, 4 at a time
    const loops = [0, 1, 2, 3].map(async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const r = await fetch(url, { client });
          await r.text();
          if (r.status !== 200) failures.push(`status ${r.status}`);
          done++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    // renew: same file, new certificate (another expiry date)
    const renewed = await ca.issue("site2", ["localhost"], { days: 3 });
    await Deno.copyFile(renewed.pem, site.pem);
    const { config } = await loadConfigText(yaml(be.address, site.pem), "test.yaml");
    await px.runtime.reload(config);
    await new Promise((r) => setTimeout(r, 300));
    const after = await expiry(px.port, ca.caFile);
    stop = true;
    await Promise.all(loops);
    assert(done > 20, `only ${done} requests`);
    assertEquals(failures, []);
    assert(before !== after, `${before} / ${after}`);
    // the connection from before the reload still serves
    const r = await fetch(url, { client: kept });
    assertEquals(r.status, 200);
    await r.text();

    // a broken certificate: the reload is refused, the running certificate stays
    await Deno.writeTextFile(site.pem, "not a certificate\n");
    await rejects(
      loadConfigText(yaml(be.address, site.pem), "test.yaml"),
      (err: unknown) => err instanceof ConfigError && /holds no PEM certificate/.test(err.message),
    );
    assertEquals(await expiry(px.port, ca.caFile), after);
  } finally {
    stop = true;
    client.close();
    kept.close();
    await px.stop();
    await be.close();
    await ca.remove();
  }
});

Deno.test("TLS reload: unchanged certificates keep the listener", async () => {
  const ca = await makeCa();
  const be = new RawBackend(echoHead);
  const site = await ca.issue("site", ["localhost"]);
  const px = await startTestProxy(yaml(be.address, site.pem));
  try {
    const { config } = await loadConfigText(yaml(be.address, site.pem), "test.yaml");
    const before = px.runtime.listeners;
    await px.runtime.reload(config);
    assertEquals(px.runtime.listeners, before);
    match((await curl(["--cacert", ca.caFile, `https://localhost:${px.port}/`])).out, /^GET \//);
  } finally {
    await px.stop();
    await be.close();
    await ca.remove();
  }
});
