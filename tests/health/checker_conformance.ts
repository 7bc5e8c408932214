// One suite every Checker must pass, against real sockets on 127.0.0.1.

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  rejects,
} from "node:assert/strict";
import type { Checker } from "../../src/health/checker.ts";
import {
  blackHole,
  closedPort,
  httpServer,
  rawServer,
  readHead,
  server,
  waitFor,
  writeText,
} from "./helpers.ts";

/**
 * What a healthy server says to this checker, on one accepted connection (default: an HTTP
 * 200 after the request head, or nothing for a connect-only check).
 */
export type Answer = (conn: Deno.Conn) => Promise<void>;

async function httpAnswer(conn: Deno.Conn): Promise<void> {
  const head = await readHead(conn); // "" for a TCP check: it sends nothing and closes
  if (head) await writeText(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
}

export function checkerConformance(
  name: string,
  make: () => Checker,
  answer: Answer = httpAnswer,
): void {
  Deno.test(`${name}: a listening server passes`, async () => {
    const srv = answer === httpAnswer ? httpServer(200, "ok") : rawServer(answer);
    try {
      const r = await make().check(server("s", srv.port, { check: true }), 2000);
      assert(r.ok, r.reason);
      assertMatch(r.reason, /^Layer[467] check passed/);
      assert(r.durationMs >= 0 && r.durationMs < 2000, `duration ${r.durationMs}`);
    } finally {
      await srv.close();
    }
  });

  Deno.test(`${name}: the check connection is closed at once`, async () => {
    let eofSeen = false;
    const srv = rawServer(async (conn) => {
      await answer(conn);
      const buf = new Uint8Array(64);
      try {
        while ((await conn.read(buf)) !== null) { /* drain */ }
      } catch { /* reset counts as closed */ }
      eofSeen = true;
    });
    try {
      const r = await make().check(server("s", srv.port, { check: true }), 2000);
      assert(r.ok, r.reason);
      // The server side sees the end without the test closing anything.
      assert(await waitFor(() => eofSeen, 2000), "check connection left open");
    } finally {
      await srv.close();
    }
  });

  Deno.test(`${name}: a refused connect fails with HAProxy's words`, async () => {
    const r = await make().check(server("s", closedPort(), { check: true }), 2000);
    assertEquals(r.ok, false);
    assertEquals(r.status, "L4CON");
    // tcp-check adds the step: `... "Connection refused at initial connection step of tcp-check"`.
    assertMatch(r.reason, /^Layer4 connection problem, info: "Connection refused( at [^"]+)?"$/);
    assert(r.durationMs < 1000, `duration ${r.durationMs}`);
  });

  Deno.test(`${name}: a connect that hangs is a Layer4 timeout after the check timeout`, async () => {
    const bh = await blackHole();
    try {
      const t0 = performance.now();
      const r = await make().check(server("s", bh.port, { check: true }), 300);
      const took = performance.now() - t0;
      assertEquals(r.ok, false);
      assertMatch(r.reason, /^Layer4 timeout(, info: "[^"]+")?$/);
      assert(took >= 250 && took < 2000, `took ${took}`);
      assert(r.durationMs >= 250 && r.durationMs < 2000, `duration ${r.durationMs}`);
    } finally {
      await bh.close();
    }
  });

  Deno.test(`${name}: connectTimeoutMs bounds the connect alone`, async () => {
    const bh = await blackHole();
    try {
      const t0 = performance.now();
      const r = await make().check(server("s", bh.port, { check: true }), 5000, {
        connectTimeoutMs: 200,
      });
      assertMatch(r.reason, /^Layer4 timeout(, info: "[^"]+")?$/);
      assert(performance.now() - t0 < 2000);
    } finally {
      await bh.close();
    }
  });

  Deno.test(`${name}: aborting rejects promptly and leaves nothing open`, async () => {
    const bh = await blackHole();
    try {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error("stop now")), 100);
      const t0 = performance.now();
      await rejects(
        () => make().check(server("s", bh.port, { check: true }), 5000, { signal: ac.signal }),
        /stop now/,
      );
      clearTimeout(timer);
      assert(performance.now() - t0 < 2000);
    } finally {
      await bh.close();
    }
  });
}
