// A Patroni-style PostgreSQL balancer, the file people run (Patroni's documented haproxy.cfg):
// `mode tcp`, `option httpchk OPTIONS /master` on Patroni's REST port through `check port`,
// `http-check expect status 200`, `default-server inter 3s fall 3 rise 2 on-marked-down
// shutdown-sessions`. Only the ports differ (ephemeral): two nodes on 127.0.0.1 and 127.0.0.2,
// each a fake "postgres" (a TCP echo naming its node) and a fake Patroni API answering 200 or
// 503 by role. A failover moves the primary: the old primary's sessions are cut, new sessions
// go to the new primary.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import type { RequestLog } from "../../src/log/record.ts";
import { startRuntime } from "../../src/runtime.ts";
import { readHead, waitFor, writeText } from "../health/helpers.ts";
import { readAll, readUntil, writeAll } from "./helpers.ts";

const PATRONI_CFG = (pg: number, api: number) =>
  `global
    maxconn 100

defaults
    log global
    mode tcp
    retries 2
    timeout client 30m
    timeout connect 4s
    timeout server 30m
    timeout check 5s

listen primary
    bind 127.0.0.1:0
    option httpchk OPTIONS /master
    http-check expect status 200
    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions
    server postgresql_127.0.0.1_${pg} 127.0.0.1:${pg} maxconn 100 check port ${api}
    server postgresql_127.0.0.2_${pg} 127.0.0.2:${pg} maxconn 100 check port ${api}

listen replicas
    bind 127.0.0.1:0
    option httpchk OPTIONS /replica
    http-check expect status 200
    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions
    server postgresql_127.0.0.1_${pg} 127.0.0.1:${pg} maxconn 100 check port ${api}
    server postgresql_127.0.0.2_${pg} 127.0.0.2:${pg} maxconn 100 check port ${api}
`;

interface Served {
  close(): Promise<void>;
}

/** Accepts on hostname:port, running `handle` per connection; close() ends everything. */
function serve(hostname: string, port: number, handle: (c: Deno.Conn) => Promise<void>): Served {
  const l = Deno.listen({ hostname, port });
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    try {
      for await (const c of l) {
        conns.add(c);
        tasks.push(
          handle(c).catch(() => {}).finally(() => {
            conns.delete(c);
            try {
              c.close();
            } catch { /* closed */ }
          }),
        );
      }
    } catch { /* closed */ }
  })();
  return {
    async close() {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
      await Promise.allSettled(tasks);
    },
  };
}

/** Two ports free on both 127.0.0.1 and 127.0.0.2 (Patroni nodes share their port numbers). */
function twoSharedPorts(): [number, number] {
  const out: number[] = [];
  for (let i = 0; i < 50 && out.length < 2; i++) {
    const a = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (a.addr as Deno.NetAddr).port;
    try {
      Deno.listen({ hostname: "127.0.0.2", port }).close();
      out.push(port);
    } catch { /* taken there: try another */ }
    a.close();
  }
  if (out.length < 2) throw new Error("no port free on both 127.0.0.1 and 127.0.0.2");
  return [out[0], out[1]];
}

/** A fake PostgreSQL node: echoes each chunk as "NODE:chunk". */
function postgres(host: string, port: number, node: string): Served {
  return serve(host, port, async (c) => {
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) return;
      await writeAll(c, `${node}:${new TextDecoder().decode(buf.subarray(0, n))}`);
    }
  });
}

/** A fake Patroni REST API: /master 200 on the primary, /replica 200 on a replica, else 503. */
function patroni(host: string, port: number, role: { primary: boolean }): Served {
  return serve(host, port, async (c) => {
    const head = await readHead(c);
    const path = head.split(" ")[1] ?? "";
    const ok = path === "/master" ? role.primary : path === "/replica" ? !role.primary : false;
    await writeText(
      c,
      ok
        ? "HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"
        : "HTTP/1.0 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
    );
  });
}

// nbthread 1, and 2 data-plane workers (the command line's default is every CPU): the health
// checks run in the control plane, the sessions and their cut in the workers.
for (const nbthread of [1, 2]) {
  Deno.test(`patroni (nbthread ${nbthread}): mode tcp, httpchk on the REST port; a failover cuts the old primary's sessions`, async () => {
    const [pg, api] = twoSharedPorts();
    const role1 = { primary: true };
    const role2 = { primary: false };
    const nodes = [
      postgres("127.0.0.1", pg, "node1"),
      postgres("127.0.0.2", pg, "node2"),
      patroni("127.0.0.1", api, role1),
      patroni("127.0.0.2", api, role2),
    ];
    const { config } = await loadConfigText(PATRONI_CFG(pg, api), "patroni.cfg");
    const logs: RequestLog[] = [];
    const rt = await startRuntime(config, {
      logging: false,
      admin: false,
      nbthread,
      logger: { request: (_fe, rec) => logs.push({ ...rec }) },
    });
    const port = (fe: string) => rt.listeners.find((l) => l.frontend === fe)!.port;
    const health = (be: string, node: string) =>
      rt.state.server(be, `postgresql_${node}_${pg}`)!.effectiveHealth;
    const ask = async (fe: string, q: string) => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: port(fe) });
      await writeAll(c, q);
      return { c, answer: await readUntil(c, q, 5000) };
    };
    try {
      // The first check of each server comes within the first 3 s interval; a failure takes it
      // down at once (HAProxy: UP, but the first failed check brings it down).
      assert(
        await waitFor(
          () =>
            health("primary", "127.0.0.2") === "DOWN" && health("replicas", "127.0.0.1") === "DOWN",
          8000,
        ),
        "the replica left primary, the primary left replicas",
      );
      assertEquals([health("primary", "127.0.0.1"), health("replicas", "127.0.0.2")], ["UP", "UP"]);
      const p = await ask("primary", "select 1");
      assertEquals(p.answer, "node1:select 1");
      const r = await ask("replicas", "select 2");
      assertEquals(r.answer, "node2:select 2");
      r.c.close();

      // Failover: node2 is promoted.
      role1.primary = false;
      role2.primary = true;
      // fall 3 x inter 3s for node1 to leave primary; its open session is cut then.
      const t0 = Date.now();
      assertEquals(await readAll(p.c, 20000), "");
      p.c.close();
      const took = Date.now() - t0;
      assert(took > 4000 && took < 16000, `cut after ${took} ms`);
      assertEquals(health("primary", "127.0.0.1"), "DOWN");
      const isCut = (l: RequestLog) => l.frontend === "primary" && l.termination === "DD--";
      await waitFor(() => logs.some(isCut), 2000); // with workers, records come by message
      const cut = logs.find(isCut);
      assert(cut, JSON.stringify(logs.map((l) => [l.frontend, l.server, l.termination])));
      assertEquals(cut.server, `postgresql_127.0.0.1_${pg}`);
      // rise 2 for node2 in primary; then new sessions reach it.
      assert(await waitFor(() => health("primary", "127.0.0.2") === "UP", 10000), "node2 up");
      const p2 = await ask("primary", "select 3");
      assertEquals(p2.answer, "node2:select 3");
      p2.c.close();
    } finally {
      await rt.stop(500);
      for (const n of nodes) await n.close();
    }
  });
}
