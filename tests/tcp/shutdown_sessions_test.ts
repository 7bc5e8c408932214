// `on-marked-down shutdown-sessions`: the sessions of a server that goes DOWN are cut (DD--);
// without it they live on.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { applyCheckResult } from "../../src/health/machine.ts";
import { result } from "../../src/health/checker.ts";
import { server } from "../helpers/config.ts";
import {
  connect,
  greeter,
  readAll,
  readUntil,
  startTcpProxy,
  tcpBackend,
  tcpConfig,
  tcpFrontend,
  waitFor,
} from "./helpers.ts";

Deno.test("tcp: a server marked DOWN cuts its sessions with on-marked-down shutdown-sessions only", async () => {
  const g = greeter("g");
  const h = greeter("h");
  const proxy = await startTcpProxy(
    tcpConfig(tcpFrontend("cut", { rules: [["keep", "if", "{ src_port lt 0 }"]] }), [
      tcpBackend("cut", [server("g", g.port, { check: true, onMarkedDown: "shutdown-sessions" })]),
      tcpBackend("keep", [server("h", h.port, { check: true })]),
    ]),
  );
  const keepProxy = await startTcpProxy(
    tcpConfig(tcpFrontend("keep"), [tcpBackend("keep", [server("h", h.port, { check: true })])]),
  );
  try {
    const c = await connect(proxy.port);
    const k = await connect(keepProxy.port);
    assertEquals(await readUntil(c, "\n"), "g\n");
    assertEquals(await readUntil(k, "\n"), "h\n");
    const down = result("L4CON", performance.now(), undefined, "Connection refused");
    applyCheckResult(proxy.runtime.state, proxy.runtime.state.server("cut", "g")!, down);
    applyCheckResult(keepProxy.runtime.state, keepProxy.runtime.state.server("keep", "h")!, down);
    assertEquals(await readAll(c), "");
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.termination], ["g", "DD--"]);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(keepProxy.logs.length, 0); // still open
    k.close();
    await keepProxy.waitLogs(1);
    c.close();
    assertEquals(await waitFor(() => proxy.runtime.state.activeConnections === 0, 2000), true);
  } finally {
    await proxy.stop();
    await keepProxy.stop();
    await g.close();
    await h.close();
  }
});
