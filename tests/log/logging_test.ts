// createLogging end to end over real UDP: a catcher on 127.0.0.1 (ephemeral port) stands in
// for the recipe's syslog at 127.0.0.1:514 with its two targets (local0, local1 notice), and
// receives the exact datagrams (PRI, header, every field).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ConfigError } from "../../src/config/model.ts";
import { type StateEvent, StateStore } from "../../src/state.ts";
import { createLogging, type Logging } from "../../src/log/logging.ts";
import { logStart, logStopped } from "../../src/log/events.ts";
import {
  ACCEPT,
  closedUdpPort,
  loc,
  recipeConfig,
  record,
  udpCatcher,
  udpTarget,
} from "./fixture.ts";

const PID = 7525;
// The syslog header carries the time of sending: pin it to the accept instant.
const HDR = "Nov 23 20:02:06 wtproxy[7525]: ";
const now = () => ACCEPT;

function start(config = recipeConfig(0), store = new StateStore()): Logging {
  store.sync(config);
  return createLogging(config, store, { pid: PID, now });
}

function event(
  kind: StateEvent["kind"],
  level: StateEvent["level"],
  message: string,
  backend = "bck1",
  server: string | null = "srv1",
): StateEvent {
  return {
    kind,
    key: server ? `${backend}/${server}` : backend,
    backend,
    server,
    message,
    level,
    time: ACCEPT,
  };
}

Deno.test("udp: routed request, 503 <NOSRV>, redispatch +1 reach local0 only (PRI 134)", async () => {
  const c = await udpCatcher();
  const log = start(recipeConfig(c.port));
  try {
    log.access.request("wt", record());
    log.access.request(
      "wt",
      record({
        server: null,
        tw: -1,
        tc: -1,
        tres: -1,
        ta: 0,
        status: 503,
        bytesRead: 217,
        termination: "SC--",
      }),
    );
    log.access.request(
      "wt",
      record({ backend: "bck_lb", server: "srv2", retries: 1, redispatched: true }),
    );
    await c.waitFor(3);
    const got = await c.settle();
    assertEquals(got, [
      `<134>${HDR}127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n`,
      `<134>${HDR}127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n`,
      `<134>${HDR}127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck_lb/srv2 0/0/2/7/9 200 276 - - ---- 1/1/0/0/+1 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n`,
    ]);
    assertEquals(log.dropped(), 0);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: the exact §3.1 datagram with log-tag haproxy", async () => {
  const c = await udpCatcher();
  const log = start(recipeConfig(c.port, { tag: "haproxy" }));
  try {
    log.access.request("wt", record());
    assertEquals(await c.waitFor(1), [
      '<134>Nov 23 20:02:06 haproxy[7525]: 127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n',
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: server DOWN, no server, tracked DOWN, UP go to both targets at HAProxy's levels", async () => {
  const c = await udpCatcher();
  const store = new StateStore();
  const log = start(recipeConfig(c.port), store);
  try {
    const down = "Server bck1/srv1 is DOWN, reason: Layer4 connection problem, " +
      'info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left. ' +
      "0 sessions active, 0 requeued, 0 remaining in queue.";
    const none = "backend bck1 has no server available!";
    const via = "Server bck_lb/srv1 is DOWN via bck1/srv1. 1 active and 0 backup servers left. " +
      "0 sessions active, 0 requeued, 0 remaining in queue.";
    const up = "Server bck1/srv1 is UP, reason: Layer4 check passed, check duration: 0ms. " +
      "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.";
    store.emit(event("down", "alert", down));
    store.emit(event("no-server", "emerg", none, "bck1", null));
    store.emit(event("down", "alert", via, "bck_lb", "srv1"));
    store.emit(event("up", "notice", up));
    // An "info" event (e.g. a check result) reaches local0 only.
    store.emit(event("check", "info", "Health check for server bck1/srv1 succeeded"));
    await c.waitFor(9);
    const got = await c.settle();
    assertEquals(got, [
      `<129>${HDR}${down}\n`,
      `<137>${HDR}${down}\n`,
      `<128>${HDR}${none}\n`,
      `<136>${HDR}${none}\n`,
      `<129>${HDR}${via}\n`,
      `<137>${HDR}${via}\n`,
      `<133>${HDR}${up}\n`,
      `<141>${HDR}${up}\n`,
      `<134>${HDR}Health check for server bck1/srv1 succeeded\n`,
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: a stopped Logging no longer listens to the store", async () => {
  const c = await udpCatcher();
  const store = new StateStore();
  const log = start(recipeConfig(c.port), store);
  await log.stop();
  store.emit(event("up", "notice", "Server bck1/srv1 is UP"));
  log.access.request("wt", record());
  assertEquals(await c.settle(), []);
  await c.close();
});

Deno.test("udp: level filtering, local1 notice gets no traffic; 4th field caps the most severe", async () => {
  const c = await udpCatcher();
  const capped = udpTarget(0, "local2", "debug", { minLevel: "alert" });
  const notice = udpTarget(0, "local1", "notice");
  capped.port = notice.port = c.port;
  const log = start(recipeConfig(c.port, { targets: [notice, capped] }));
  try {
    log.access.request("wt", record()); // info: local2 only
    log.event("emerg", "x emerg"); // local1 only (local2 stops at alert)
    log.event("alert", "x alert"); // both
    log.event("debug", "x debug"); // local2 only
    await c.waitFor(5);
    const got = await c.settle();
    assertEquals(got.map((l) => l.slice(0, l.indexOf(">") + 1) + l.slice(l.indexOf(": ") + 2)), [
      `<150>127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n`,
      "<136>x emerg\n",
      "<137>x alert\n",
      "<145>x alert\n",
      "<151>x debug\n",
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: dontlognull skips null connections, logs partial requests", async () => {
  const c = await udpCatcher();
  const log = start(recipeConfig(c.port, { dontlognull: true }));
  const bad = {
    server: null,
    tr: -1,
    tw: -1,
    tc: -1,
    tres: -1,
    ta: 2,
    status: 400,
    bytesRead: 0,
    termination: "CR--",
    requestLine: null,
  };
  try {
    log.access.request("wt", record({ ...bad, nullConnection: true }));
    log.access.request("wt", record({ ...bad, backend: "wt", nullConnection: false }));
    await c.waitFor(1);
    assertEquals(await c.settle(), [
      `<134>${HDR}127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt wt/<NOSRV> -1/-1/-1/-1/2 400 0 - - CR-- 1/1/0/0/0 0/0 "<BADREQ>"\n`,
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
  // Without the option the null connection is logged.
  const c2 = await udpCatcher();
  const log2 = start(recipeConfig(c2.port, { dontlognull: false }));
  try {
    log2.access.request("wt", record({ ...bad, nullConnection: true }));
    assertEquals((await c2.waitFor(1)).length, 1);
  } finally {
    await log2.stop();
    await c2.close();
  }
});

Deno.test("udp: without option httplog a tcplog line is sent", async () => {
  const c = await udpCatcher();
  const log = start(recipeConfig(c.port, { httplog: false }));
  try {
    log.access.request("wt", record());
    assertEquals(await c.waitFor(1), [
      `<134>${HDR}127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/2/9 276 -- 1/1/0/0/0 0/0\n`,
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: json format parses and carries the httplog values", async () => {
  const c = await udpCatcher();
  const t = udpTarget(c.port, "local0", "debug", { format: "json" });
  const log = start(recipeConfig(c.port, { targets: [t] }));
  try {
    log.access.request(
      "wt",
      record({ retries: 1, redispatched: true, requestLine: 'GET /"q" HTTP/1.1' }),
    );
    log.event("warning", "Proxy wt stopped (cumulated conns: FE: 1, BE: 0).");
    const [a, e] = await c.waitFor(2);
    assert(a.endsWith("\n") && !a.startsWith("<"));
    const j = JSON.parse(a);
    assertEquals(j.time, new Date(ACCEPT).toISOString());
    assertEquals(
      [j.level, j.tag, j.pid, j.type, j.client_ip, j.client_port, j.accept_date],
      ["info", "wtproxy", PID, "access", "127.0.0.1", 59274, "23/Nov/2026:20:02:06.018"],
    );
    assertEquals(
      [j.frontend_name, j.backend_name, j.server_name, j.TR, j.Tw, j.Tc, j.Tr, j.Ta],
      ["wt", "bck1", "srv1", 0, 0, 2, 7, 9],
    );
    assertEquals(
      [j.status_code, j.bytes_read, j.termination_state, j.actconn, j.feconn, j.beconn],
      [200, 276, "----", 1, 1, 0],
    );
    assertEquals([j.srv_conn, j.retries, j.redispatched, j.srv_queue, j.backend_queue], [
      0,
      1,
      true,
      0,
      0,
    ]);
    assertEquals(j.http_request, 'GET /"q" HTTP/1.1');
    const ev = JSON.parse(e);
    assertEquals([ev.type, ev.level, ev.message], [
      "event",
      "warning",
      "Proxy wt stopped (cumulated conns: FE: 1, BE: 0).",
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: day of month is space-padded; long lines are cut to 1024 bytes with LF", async () => {
  const c = await udpCatcher();
  const config = recipeConfig(c.port);
  const store = new StateStore();
  store.sync(config);
  const log = createLogging(config, store, {
    pid: 1,
    now: () => new Date(2026, 10, 3, 4, 5, 6).getTime(),
  });
  try {
    log.event("alert", "short");
    log.event("alert", "x".repeat(2000));
    const got = await c.waitFor(4);
    assertEquals(got[0], "<129>Nov  3 04:05:06 wtproxy[1]: short\n");
    const long = got.find((l) => l.length > 100)!;
    assertEquals(new TextEncoder().encode(long).length, 1024);
    assert(long.startsWith("<129>Nov  3 04:05:06 wtproxy[1]: xxx") && long.endsWith("x\n"));
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("udp: closed port, unresolvable host, refused send and a full queue never throw", async () => {
  const closed = await closedUdpPort();
  // Closed port: the kernel accepts the datagrams (UDP has no delivery report): sent, no throw.
  const a = start(recipeConfig(closed));
  for (let i = 0; i < 10; i++) a.access.request("wt", record());
  await a.stop();
  assertEquals(a.dropped(), 0);

  // A host name that does not resolve: lines are dropped and counted.
  const bad = udpTarget(514, "local0", "debug", { host: "nonexistent.invalid" });
  const b = start(recipeConfig(514, { targets: [bad] }));
  for (let i = 0; i < 5; i++) b.access.request("wt", record());
  const deadline = Date.now() + 5000;
  while (b.dropped() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assertEquals(b.dropped(), 5);
  await b.stop();

  // A send that fails (port 0: EINVAL from the kernel, or refused by node:dgram): counted.
  const bc = udpTarget(0, "local0");
  const d = start(recipeConfig(0, { targets: [bc] }));
  for (let i = 0; i < 3; i++) d.access.request("wt", record());
  await d.stop();
  assertEquals(d.dropped(), 3);

  // A full queue: lines beyond the limit are dropped at once, the caller is not held.
  const c = await udpCatcher();
  const config = recipeConfig(c.port);
  const store = new StateStore();
  store.sync(config);
  const q = createLogging(config, store, { pid: PID, now, queueLimit: 4 });
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) q.access.request("wt", record());
  assert(performance.now() - t0 < 500);
  assertEquals(q.dropped(), 96);
  await q.stop();
  assertEquals((await c.waitFor(4)).length, 4);
  await c.close();
});

Deno.test("stdout: with no target at all, bare lines and events go to stdout", async () => {
  const out: string[] = [];
  const dec = new TextDecoder();
  const writer = {
    write(p: Uint8Array) {
      out.push(dec.decode(p));
      return Promise.resolve(p.length);
    },
  };
  const config = recipeConfig(0, { targets: [] });
  const store = new StateStore();
  store.sync(config);
  const log = createLogging(config, store, { pid: PID, now, stdout: writer });
  log.access.request("wt", record());
  store.emit(event("up", "notice", "Server bck1/srv1 is UP"));
  log.event("debug", "debug message");
  await log.stop();
  assertEquals(
    out.join(""),
    [
      '127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n',
      "Server bck1/srv1 is UP\n",
      "debug message\n",
    ].join(""),
  );
  // Lines of one tick went out in one write.
  assertEquals(out.length, 1);
});

Deno.test("stdout: a broken stdout drops and counts", async () => {
  const writer = { write: () => Promise.reject(new Error("EPIPE")) };
  const config = recipeConfig(0, { targets: [] });
  const store = new StateStore();
  store.sync(config);
  const log = createLogging(config, store, { pid: PID, now, stdout: writer });
  log.access.request("wt", record());
  log.access.request("wt", record());
  await log.stop();
  log.access.request("wt", record());
  assertEquals(log.dropped(), 2);
});

Deno.test("events: start and stop messages at HAProxy's levels", async () => {
  const c = await udpCatcher();
  const config = recipeConfig(c.port);
  config.warnings = [{ ...loc, severity: "warning", message: "'contimeout' is deprecated" }];
  const store = new StateStore();
  const log = start(config, store);
  try {
    logStart(log, config);
    logStopped(log, config, store);
    await c.waitFor(8);
    const got = (await c.settle()).map((l) => l.replace(HDR, ""));
    assertEquals(got, [
      "<132>wt.cfg:3:3: warning: 'contimeout' is deprecated\n",
      "<140>wt.cfg:3:3: warning: 'contimeout' is deprecated\n",
      "<133>Proxy wt started.\n",
      "<141>Proxy wt started.\n",
      "<133>Proxy bck1 started.\n",
      "<141>Proxy bck1 started.\n",
      "<133>Proxy bck_lb started.\n",
      "<141>Proxy bck_lb started.\n",
      "<132>Proxy wt stopped (cumulated conns: FE: 0, BE: 0).\n",
      "<140>Proxy wt stopped (cumulated conns: FE: 0, BE: 0).\n",
      "<132>Proxy bck1 stopped (cumulated conns: FE: 0, BE: 0).\n",
      "<140>Proxy bck1 stopped (cumulated conns: FE: 0, BE: 0).\n",
      "<132>Proxy bck_lb stopped (cumulated conns: FE: 0, BE: 0).\n",
      "<140>Proxy bck_lb stopped (cumulated conns: FE: 0, BE: 0).\n",
    ]);
  } finally {
    await log.stop();
    await c.close();
  }
});

Deno.test("reload: new targets take over, the old socket is flushed and closed", async () => {
  const c1 = await udpCatcher();
  const c2 = await udpCatcher();
  const store = new StateStore();
  const log = start(recipeConfig(c1.port), store);
  try {
    log.access.request("wt", record());
    log.reload(recipeConfig(c2.port));
    log.access.request("wt", record({ status: 404 }));
    assertEquals((await c1.waitFor(1)).length, 1);
    const [l] = await c2.waitFor(1);
    assert(l.includes(" 404 "));
    assertEquals((await c1.settle()).length, 1);
  } finally {
    await log.stop();
    await c1.close();
    await c2.close();
  }
});

Deno.test("unix target: a clear configuration error without --unstable-net", () => {
  if (typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function") {
    return; // covered by unix_test.ts's subprocess when the flag is on
  }
  const t = {
    ...udpTarget(514, "local0"),
    kind: "unix" as const,
    path: "/dev/log",
    text: "/dev/log local0",
  };
  const config = recipeConfig(0, { targets: [t] });
  let err: unknown;
  try {
    createLogging(config, new StateStore());
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError);
  assertEquals(
    err.message,
    "wt.cfg:3:3: error: log target '/dev/log local0': unix datagram log targets need Deno's " +
      "--unstable-net flag (Deno.listenDatagram); run with --unstable-net (and --allow-write " +
      "for the client socket in the temp directory) or log to UDP, e.g. 127.0.0.1:514",
  );
});
