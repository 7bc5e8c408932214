// `http-check disable-on-404` end to end, with real servers whose health URL the test turns to
// 404, 200 or 500: a 404 puts an UP server in NOLB (HAProxy's "stopping"): no new traffic, but a
// request whose cookie names it still goes there; its tracker follows; a 2xx takes it back, failed
// checks take it DOWN with a notice (not an alert), and 404s never bring a DOWN server UP. The
// words are HAProxy 2.6's (captured with the same configuration). With Wt affinity and the
// session table, a NOLB server keeps its live sessions until they end and is reported drained.
// Runs at nbthread 2 too (deno task test:threads): the state is in the table every worker reads.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { StateEvent } from "../../src/state.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { waitFor } from "./helpers.ts";
import { serverStatus } from "../../src/admin/snapshot.ts";
import { currentState } from "../../src/admin/metrics.ts";

/** A backend answering its name, and `/health` with the status the test sets. */
function server(name: string) {
  let health = 200;
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/health"
        ? new Response(null, { status: health })
        : new Response(name),
  );
  return {
    port: srv.addr.port,
    set(status: number) {
      health = status;
    },
    close: () => srv.shutdown(),
  };
}

const config = (p1: number, p2: number) => `
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
  f:
    bind: ["127.0.0.1:0"]
    acls:
      is_t: path_beg /t
    use_backend:
      - { backend: t, if: is_t }
    default_backend: b
backends:
  b:
    options: { httpchk: { method: GET, uri: /health } }
    http-check: { disable-on-404: true }
    cookie: "SRV insert indirect nocache"
    servers:
      s1: { address: 127.0.0.1:${p1}, check: true, inter: 50, rise: 2, fall: 2, cookie: c1 }
      s2: { address: 127.0.0.1:${p2}, check: true, inter: 50, cookie: c2 }
  t:
    options: { httpchk: { method: GET, uri: /health } }
    http-check: { disable-on-404: true }
    servers:
      t1: { address: 127.0.0.1:${p1}, track: b/s1 }
`;

Deno.test("disable-on-404: a 404 puts the server in NOLB (no new traffic, cookie traffic kept), a 200 takes it back, failures take it DOWN", async () => {
  const s1 = server("s1");
  const s2 = server("s2");
  const proxy = await startTestProxy(config(s1.port, s2.port), { health: true });
  const st = proxy.runtime.state;
  const events: StateEvent[] = [];
  const off = st.on((e) => events.push(e));
  const base = `http://127.0.0.1:${proxy.port}`;
  const get = async (path: string, cookie?: string) => {
    const r = await fetch(base + path, { headers: cookie ? { cookie } : {} });
    return await r.text();
  };
  const spread = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(await get("/"));
    return [...seen].sort();
  };
  const says = (text: string) => events.some((e) => e.message.startsWith(text));
  const s1State = st.server("b", "s1")!;
  try {
    assertEquals(await spread(6), ["s1", "s2"]);

    s1.set(404);
    assert(await waitFor(() => says("Server b/s1 is stopping"), 3000), "no stopping event");
    const stopping = events.find((e) => e.message.startsWith("Server b/s1 is stopping"))!;
    assertEquals(stopping.kind, "nolb");
    assertEquals(stopping.level, "notice");
    assert(
      stopping.message.startsWith(
        "Server b/s1 is stopping, reason: Layer7 check conditionally passed, code: 404, " +
          "check duration: ",
      ),
      stopping.message,
    );
    assert(
      stopping.message.endsWith(
        ". 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
      ),
      stopping.message,
    );
    assert(await waitFor(() => says("Server t/t1 is stopping via b/s1."), 1000), "tracker");
    assertEquals([s1State.health, s1State.usable], ["UP", false]);
    assertEquals(await spread(6), ["s2"]); // no new traffic
    assertEquals(await get("/", "SRV=c1"), "s1"); // persistent traffic still goes there
    // The tracker's backend has no other server: nothing usable there now.
    assertEquals((await fetch(base + "/t")).status, 503);

    // Admin views: HAProxy's NOLB status word and metric state.
    assertEquals(serverStatus(s1State).text, "NOLB");
    assertEquals(currentState(s1State), "NOLB");

    s1.set(200);
    assert(
      await waitFor(() => says("Server b/s1 is UP, reason: Layer7 check passed, code: 200"), 3000),
    );
    assertEquals(s1State.usable, true);
    assertEquals(await spread(6), ["s1", "s2"]);

    // Failing while NOLB: DOWN, worded as usual, but a notice rather than an alert.
    s1.set(404);
    assert(await waitFor(() => events.filter((e) => e.kind === "nolb").length >= 4, 3000));
    s1.set(500);
    assert(await waitFor(() => says("Server b/s1 is DOWN"), 3000), "no DOWN event");
    const down = events.find((e) => e.message.startsWith("Server b/s1 is DOWN"))!;
    assertEquals(down.level, "notice");
    assert(down.message.includes("reason: Layer7 wrong status, code: 500"), down.message);
    assertEquals(s1State.nolb, false);

    // 404s never bring a DOWN server UP (rise is 2: ten checks are plenty).
    const before = events.length;
    s1.set(404);
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(s1State.health, "DOWN");
    assertEquals(events.slice(before).filter((e) => e.key === "b/s1"), []);
    s1.set(200);
    assert(await waitFor(() => s1State.health === "UP" && s1State.usable, 3000));
    assertEquals(s1State.nolb, false);
  } finally {
    off();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("disable-on-404 with Wt affinity and wt-sessions: a NOLB server keeps its live sessions, gets no new ones, and is reported drained", async () => {
  const wt1 = server("wt1");
  const wt2 = server("wt2");
  const proxy = await startTestProxy(
    `
global:
  wt-sessions: { param: wtd, timeout: 1s, max: 1000 }
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
  f:
    bind: ["127.0.0.1:0"]
    default_backend: app
backends:
  app:
    affinity: { url_param: wtd }
    options: { httpchk: { method: GET, uri: /health } }
    http-check: { disable-on-404: true }
    servers:
      srv1: { address: 127.0.0.1:${wt1.port}, check: true, inter: 50, prefix: wt1 }
      srv2: { address: 127.0.0.1:${wt2.port}, check: true, inter: 50, prefix: wt2 }
`,
    { health: true },
  );
  const st = proxy.runtime.state;
  const events: StateEvent[] = [];
  const off = st.on((e) => events.push(e));
  const get = async (path: string) =>
    await (await fetch(`http://127.0.0.1:${proxy.port}${path}`)).text();
  const srv1 = st.server("app", "srv1")!;
  const live = "/?wtd=wt1LiveSession0001";
  try {
    assertEquals(await get(live), "wt1"); // answered: a live session of srv1
    wt1.set(404);
    assert(await waitFor(() => srv1.nolb, 3000), "srv1 never went NOLB");
    for (let i = 0; i < 3; i++) {
      assertEquals(await get(live), "wt1"); // its live session stays
      assertEquals(await get("/"), "wt2"); // a new session goes elsewhere
      assertEquals(await get("/?wtd=wt1NotLive000000001"), "wt2"); // unknown id: balanced
    }
    assertEquals(srv1.draining, true);
    assert(!events.some((e) => e.kind === "drained"), "drained while a session lives");
    // No request for longer than the session timeout: the session ends, srv1 is drained.
    assert(
      await waitFor(() => events.some((e) => e.kind === "drained" && e.key === "app/srv1"), 4000),
      "no drained event",
    );
    assertEquals(srv1.wtSessions, 0);
  } finally {
    off();
    await proxy.stop();
    await wt1.close();
    await wt2.close();
  }
});
