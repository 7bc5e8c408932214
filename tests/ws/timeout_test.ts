// Tunnel inactivity timeouts: `timeout tunnel`, else the client/server timeouts; traffic in
// either direction resets them; they fire at the configured time and not before.
// Short timeouts, generous upper margins (a shared 2-core box), strict lower bounds.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { liveTunnels } from "../../src/ws/proxy.ts";
import { openClient, sleep, startEchoBackend, startProxy, within } from "./harness.ts";

Deno.test("ws timeout: tunnel timeout fires after the configured silence, not before", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port, timeouts: { tunnel: 600, client: 100 } });
  try {
    const c = await within(openClient(proxy.port), 5000, "open");
    // Traffic every 200 ms for 1.4 s keeps it open (well past 600 ms).
    let last = Date.now();
    for (let i = 0; i < 7; i++) {
      await sleep(200);
      c.ws.send(`tick ${i}`);
      assertEquals(await within(c.next(), 5000, "echo"), `tick ${i}`);
      last = Date.now();
    }
    assertEquals(c.ws.readyState, WebSocket.OPEN);
    const ev = await within(c.closed, 5000, "idle close");
    const silence = Date.now() - last;
    assert(silence >= 590, `closed after ${silence} ms of silence (timeout 600)`);
    assertEquals(ev.code, 1001);
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals([rec.status, rec.termination], [101, "cD--"]);
    assert(rec.ta >= 1400 + 590, `Ta ${rec.ta}`);
    assertEquals(liveTunnels.size, 0);
    const [code] = await within(backend.closes[0], 5000, "backend close");
    assertEquals(code, 1001);
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws timeout: without tunnel, the smaller of client/server applies (sD-- for server)", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port, timeouts: { client: 5000, server: 400 } });
  try {
    const t0 = Date.now();
    const c = await within(openClient(proxy.port), 5000, "open");
    await within(c.closed, 5000, "idle close");
    assert(Date.now() - t0 >= 390, `closed after ${Date.now() - t0} ms`);
    const rec = await within(proxy.nextLog(), 5000, "log");
    assertEquals(rec.termination, "sD--");
  } finally {
    await proxy.close();
    await backend.close();
  }
});

Deno.test("ws timeout: no timeout set -> nothing of ours cuts a silent tunnel", async () => {
  const backend = startEchoBackend();
  const proxy = startProxy({ backendPort: backend.port });
  try {
    const c = await within(openClient(proxy.port), 5000, "open");
    await sleep(1200);
    assertEquals(c.ws.readyState, WebSocket.OPEN);
    c.ws.send("still here");
    assertEquals(await within(c.next(), 5000, "echo"), "still here");
    c.ws.close();
    await c.closed;
    await proxy.nextLog();
  } finally {
    await proxy.close();
    await backend.close();
  }
});
