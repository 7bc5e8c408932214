// Runtime.reload() over real sockets on 127.0.0.1: what an operator relies on when sending SIGHUP.
// Kept binds keep serving without a failed request, health/admin state and counters survive for
// names that remain, routing follows the new configuration on the next request, changed binds
// move (after in-flight requests), and a reload that cannot bind leaves the old one running.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/model.ts";
import { applyCheckResult, setAdminState } from "../../src/health/machine.ts";
import { closedPort, named, RawBackend } from "../helpers/raw_backend.ts";
import { RawClient, rawRequest } from "../helpers/raw_client.ts";
import { startTestProxy, type TestProxy } from "../helpers/proxy.ts";
import { assertTurns } from "../helpers/threads.ts";

interface Yaml {
  /** frontend name -> its bind list and extra lines (acls, use_backend). */
  frontends?: Record<string, { binds: string[]; extra?: string; default?: string }>;
  /** backend name -> server name -> address (or a flow mapping's inside). */
  backends: Record<string, Record<string, string>>;
}

/** A YAML config; servers given as "127.0.0.1:P" or as "address: ..., check: true". */
function yaml(o: Yaml): string {
  const fes = o.frontends ?? { f: { binds: ["127.0.0.1:0"] } };
  const firstBackend = Object.keys(o.backends)[0];
  const fe = Object.entries(fes).map(([name, f]) =>
    `  ${name}:\n    bind: [${f.binds.map((b) => `"${b}"`).join(", ")}]\n` +
    `    default_backend: ${f.default ?? firstBackend}\n${f.extra ?? ""}`
  ).join("\n");
  const be = Object.entries(o.backends).map(([name, servers]) =>
    `  ${name}:\n    servers:\n` +
    Object.entries(servers).map(([s, a]) =>
      `      ${s}: { ${a.includes("address") ? a : `address: ${a}`} }`
    ).join("\n")
  ).join("\n");
  return `
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s }
frontends:
${fe}
backends:
${be}
`;
}

async function load(text: string): Promise<Config> {
  return (await loadConfigText(text, "test.yaml")).config;
}

const GET = (path = "/") => `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`;

async function get(port: number, path = "/"): Promise<{ status: number; text: string }> {
  const r = await rawRequest(port, GET(path));
  return { status: r.status, text: r.text };
}

/** The first word of each body (named() answers "NAME /path"). */
async function whoAnswers(port: number, n: number, path = "/"): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(port, path);
    assertEquals(r.status, 200, `request ${i} to ${path}: ${r.status} ${r.text}`);
    out.push(r.text.split(" ")[0]);
  }
  return out;
}

async function refused(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

async function cleanup(px: TestProxy | null, ...bes: RawBackend[]): Promise<void> {
  await px?.stop();
  await Promise.all(bes.map((b) => b.close()));
}

Deno.test("reload, same binds: same port, every request across reloads gets a 200", async () => {
  const s1 = new RawBackend(named("s1"));
  const s2 = new RawBackend(named("s2"));
  const cfgA = yaml({ backends: { b: { s1: s1.address } } });
  const cfgB = yaml({ backends: { b: { s1: s1.address, s2: s2.address } } });
  const px = await startTestProxy(cfgA);
  try {
    const port = px.port;
    const configs = [await load(cfgA), await load(cfgB)];
    let running = true;
    const statuses: number[] = [];
    const errors: string[] = [];
    // Fresh connections, back to back, from three clients.
    const fresh = async () => {
      while (running) {
        try {
          statuses.push((await get(port, "/fresh")).status);
        } catch (err) {
          errors.push(`fresh: ${err}`);
        }
      }
    };
    // One kept-alive connection reused for every request.
    const kept = async () => {
      const c = await RawClient.connect(port);
      try {
        while (running) {
          await c.send("GET /kept HTTP/1.1\r\nHost: a\r\n\r\n");
          statuses.push((await c.response()).status);
        }
      } catch (err) {
        errors.push(`kept-alive: ${err}`);
      } finally {
        c.close();
      }
    };
    const loops = [fresh(), fresh(), fresh(), kept()];
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 30));
      await px.runtime.reload(configs[(i + 1) % 2]);
      assertEquals(px.runtime.listeners.map((l) => l.port), [port]);
    }
    await new Promise((r) => setTimeout(r, 30));
    running = false;
    await Promise.all(loops);
    assertEquals(errors, []);
    assert(statuses.length > 20, `only ${statuses.length} requests`);
    assertEquals(statuses.filter((s) => s !== 200), []);
    assertEquals((await get(port)).status, 200);
  } finally {
    await cleanup(px, s1, s2);
  }
});

Deno.test("reload keeps MAINT, forced DOWN and counters of servers that keep their name", async () => {
  const s1 = new RawBackend(named("s1"));
  const s2 = new RawBackend(named("s2"));
  const s3 = new RawBackend(named("s3"));
  const s4 = new RawBackend(named("s4"));
  const servers = {
    s1: s1.address,
    s2: s2.address,
    s3: `address: ${s3.address}, check: true`,
  };
  const px = await startTestProxy(yaml({ backends: { b: servers } }));
  try {
    const store = px.runtime.state;
    setAdminState(store, "b/s1", "MAINT");
    applyCheckResult(store, store.server("b", "s3")!, {
      ok: false,
      durationMs: 1,
      reason: "Layer4 connection problem",
      status: "L4CON",
    });
    assertEquals(store.server("b", "s3")!.health, "DOWN");
    assertEquals(await whoAnswers(px.port, 4), ["s2", "s2", "s2", "s2"]);
    const s2State = store.server("b", "s2")!;
    assertEquals(s2State.counters.requests, 4);
    assertEquals(store.backends.get("b")!.counters.requests, 4);
    assertEquals(store.frontends.get("f")!.counters.requests, 4);

    // Same names, one more server, changed weights and timeouts.
    await px.runtime.reload(
      await load(
        yaml({
          backends: { b: { ...servers, s2: `address: ${s2.address}, weight: 2`, s4: s4.address } },
        })
          .replace("server: 5s", "server: 4s"),
      ),
    );
    assertEquals(store.server("b", "s1")!.admin, "MAINT");
    assertEquals(store.server("b", "s1")!.usable, false);
    assertEquals(store.server("b", "s3")!.health, "DOWN");
    assertEquals(store.server("b", "s3")!.usable, false);
    assertEquals(store.server("b", "s2"), s2State, "same state object");
    assertEquals(s2State.counters.requests, 4);

    const who = await whoAnswers(px.port, 6);
    assertEquals(new Set(who), new Set(["s2", "s4"]));
    assertEquals(s1.received.length + s3.received.length, 0, "MAINT/DOWN servers got traffic");
    assertEquals(s2State.counters.requests, 4 + who.filter((w) => w === "s2").length);
    assertEquals(store.server("b", "s4")!.counters.requests, who.filter((w) => w === "s4").length);
    assertEquals(store.backends.get("b")!.counters.requests, 10);
    assertEquals(store.frontends.get("f")!.counters.requests, 10);
  } finally {
    await cleanup(px, s1, s2, s3, s4);
  }
});

Deno.test("reload with health checks on: a server DOWN by its checks stays DOWN", async () => {
  const s1 = new RawBackend(named("s1"));
  const s3 = new RawBackend(named("s3"));
  const dead = closedPort();
  const servers = {
    s1: s1.address,
    s2: `address: 127.0.0.1:${dead}, check: true, inter: 100ms, fall: 1, rise: 2`,
  };
  const px = await startTestProxy(yaml({ backends: { b: servers } }), { health: true });
  try {
    const store = px.runtime.state;
    const until = Date.now() + 3000;
    while (store.server("b", "s2")!.health !== "DOWN") {
      assert(Date.now() < until, "s2 never went DOWN");
      await new Promise((r) => setTimeout(r, 20));
    }
    const events: string[] = [];
    const off = store.on((e) => events.push(`${e.kind} ${e.key}`));
    try {
      await px.runtime.reload(
        await load(yaml({ backends: { b: { ...servers, s3: s3.address } } })),
      );
      assertEquals(store.server("b", "s2")!.health, "DOWN");
      assertTurns(await whoAnswers(px.port, 4), ["s1", "s3", "s1", "s3"]);
      // Its checks go on (still failing): it does not come back UP.
      await new Promise((r) => setTimeout(r, 350));
      assertEquals(store.server("b", "s2")!.health, "DOWN");
      assert(store.server("b", "s2")!.failedChecks >= 1);
      assertEquals(events.filter((e) => e.startsWith("up")), []);
    } finally {
      off();
    }
  } finally {
    await cleanup(px, s1, s3);
  }
});

Deno.test("reload: new use_backend rule, new server and removed server/backend apply at once", async () => {
  const a1 = new RawBackend(named("a1"));
  const a2 = new RawBackend(named("a2"));
  const c1 = new RawBackend(named("c1"));
  const px = await startTestProxy(
    yaml({ backends: { a: { a1: a1.address }, c: { c1: c1.address } } }),
  );
  try {
    const store = px.runtime.state;
    assertEquals(await whoAnswers(px.port, 2, "/c/x"), ["a1", "a1"]);

    // A rule sending /c to backend c, and a second server in a.
    const rule = `    acls: { is_c: path_beg /c }\n    use_backend: [{ backend: c, if: is_c }]\n`;
    await px.runtime.reload(
      await load(yaml({
        frontends: { f: { binds: ["127.0.0.1:0"], extra: rule } },
        backends: { a: { a1: a1.address, a2: a2.address }, c: { c1: c1.address } },
      })),
    );
    assertEquals(await whoAnswers(px.port, 1, "/c/x"), ["c1"]);
    assertEquals(new Set(await whoAnswers(px.port, 4, "/")), new Set(["a1", "a2"]));

    // a1 removed, backend c (and its rule) removed.
    const a1Before = a1.received.length;
    await px.runtime.reload(await load(yaml({ backends: { a: { a2: a2.address } } })));
    assertEquals(await whoAnswers(px.port, 4, "/c/x"), ["a2", "a2", "a2", "a2"]);
    assertEquals(a1.received.length, a1Before, "a removed server got traffic");
    assertEquals(store.server("a", "a1"), undefined);
    assertEquals(store.server("c", "c1"), undefined);
    assertEquals(store.backends.has("c"), false);
    assertEquals([...store.servers.keys()], ["a/a2"]);
    assertEquals([...store.backends.keys()], ["a"]);
  } finally {
    await cleanup(px, a1, a2, c1);
  }
});

Deno.test("reload, changed bind: old port closes once in-flight requests end, new port serves", async () => {
  const slow = Promise.withResolvers<void>();
  const s1 = new RawBackend(async (req, c) => {
    if (req.head.startsWith("GET /slow")) await slow.promise;
    await named("s1")(req, c);
  });
  const px = await startTestProxy(yaml({ backends: { b: { s1: s1.address } } }));
  let reloading: Promise<void> | null = null;
  try {
    const oldPort = px.port;
    const inflight = rawRequest(oldPort, GET("/slow"));
    // Wait until the request reached the server.
    const until = Date.now() + 3000;
    while (s1.received.length === 0) {
      assert(Date.now() < until, "the slow request never reached the server");
      await new Promise((r) => setTimeout(r, 10));
    }
    const newPort = closedPort();
    const next = await load(
      yaml({
        frontends: { f: { binds: [`127.0.0.1:${newPort}`] } },
        backends: { b: { s1: s1.address } },
      }),
    );
    reloading = px.runtime.reload(next);
    await new Promise((r) => setTimeout(r, 50));
    // While the old request runs: the new port serves, the old one accepts nothing new.
    assertEquals((await get(newPort)).text, "s1 /");
    assertEquals(await refused(oldPort), true, "old port still accepting");
    slow.resolve();
    const res = await inflight;
    assertEquals([res.status, res.text], [200, "s1 /slow"]);
    await reloading;
    reloading = null;
    assertEquals(px.runtime.listeners.map((l) => l.port), [newPort]);
    assertEquals(await refused(oldPort), true);
    assertEquals((await get(newPort)).status, 200);
  } finally {
    slow.resolve();
    await reloading?.catch(() => {});
    await cleanup(px, s1);
  }
});

Deno.test("reload onto a port taken by something else: clear error, old config keeps serving", async () => {
  const s1 = new RawBackend(named("s1"));
  const s2 = new RawBackend(named("s2"));
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = squatter.addr.port;
  const px = await startTestProxy(yaml({ backends: { b: { s1: s1.address, s2: s2.address } } }));
  try {
    const store = px.runtime.state;
    const before = px.runtime.config;
    setAdminState(store, "b/s2", "MAINT");
    const s1State = store.server("b", "s1")!;
    const s1Config = s1State.config;
    assertEquals(await whoAnswers(px.port, 2), ["s1", "s1"]);

    // The kept bind, plus a second frontend on the taken port; s2 removed, s1 moved, new x.
    const x1 = new RawBackend(named("x1"));
    try {
      const next = await load(yaml({
        frontends: {
          f: { binds: ["127.0.0.1:0"], default: "b" },
          g: { binds: [`127.0.0.1:${taken}`], default: "x" },
        },
        backends: { b: { s1: s2.address }, x: { x1: x1.address } },
      }));
      let error: unknown = null;
      try {
        await px.runtime.reload(next);
      } catch (err) {
        error = err;
      }
      assert(error instanceof Error, "reload did not fail");
      const msg = error.message;
      assert(msg.includes(`127.0.0.1:${taken}`), `error does not name the address: ${msg}`);
      assert(msg.includes("g"), `error does not name the frontend: ${msg}`);
      assert(/in use/i.test(msg), `error does not say why: ${msg}`);

      // Nothing of the new configuration is in effect.
      assertEquals(px.runtime.config, before);
      assertEquals(px.runtime.listeners.map((l) => [l.frontend, l.port]), [["f", px.port]]);
      assertEquals([...store.servers.keys()], ["b/s1", "b/s2"]);
      assertEquals([...store.backends.keys()], ["b"]);
      assertEquals([...store.frontends.keys()], ["f"]);
      assertEquals(store.server("b", "s1"), s1State);
      assertEquals(s1State.config, s1Config, "the running server's config was swapped");
      assertEquals(store.server("b", "s2")!.admin, "MAINT");
      assertEquals(await whoAnswers(px.port, 3), ["s1", "s1", "s1"]);
      assertEquals(s1State.counters.requests, 5);
      assertEquals(x1.received.length, 0);

      // Once the port is free, the same configuration loads.
      squatter.close();
      await px.runtime.reload(next);
      assertEquals((await get(taken)).text, "x1 /");
      assertEquals((await get(px.port)).text, "s2 /");
    } finally {
      await x1.close();
    }
  } finally {
    try {
      squatter.close();
    } catch { /* closed */ }
    await cleanup(px, s1, s2);
  }
});

Deno.test("reload, frontend renamed on the same fixed bind: the socket is kept, serves the new name", async () => {
  const s1 = new RawBackend(named("s1"));
  const port = closedPort();
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const cfg = (fe: string, extra = "") =>
    yaml({
      frontends: {
        [fe]: { binds: [`127.0.0.1:${port}`] },
        ...(extra ? { h: { binds: [extra] } } : {}),
      },
      backends: { b: { s1: s1.address } },
    });
  const px = await startTestProxy(cfg("f"));
  try {
    const store = px.runtime.state;
    // A failed reload that also renames: the kept listener still serves `f`.
    const bad = await load(cfg("g", `127.0.0.1:${squatter.addr.port}`));
    await px.runtime.reload(bad).then(() => assert(false, "reload did not fail"), () => {});
    assertEquals((await get(port)).status, 200);
    assertEquals(store.frontends.get("f")!.counters.requests, 1);
    assertEquals(px.runtime.listeners.map((l) => [l.frontend, l.port]), [["f", port]]);

    await px.runtime.reload(await load(cfg("g")));
    assertEquals(px.runtime.listeners.map((l) => [l.frontend, l.port]), [["g", port]]);
    assertEquals((await get(port)).text, "s1 /");
    assertEquals(store.frontends.has("f"), false);
    assertEquals(store.frontends.get("g")!.counters.requests, 1);
  } finally {
    squatter.close();
    await cleanup(px, s1);
  }
});
