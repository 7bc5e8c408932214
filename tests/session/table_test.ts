// The Wt session table: counted per server (one count per Wt process, shared by the servers at
// its address), expiry after the timeout unless a WebSocket is open, DOWN and MAINT end the
// sessions, the cap drops the least recently seen, ids are never shown whole.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { applyCheckResult, setAdminState } from "../../src/health/machine.ts";
import { result } from "../../src/health/checker.ts";
import { maskId } from "../../src/session/observer.ts";
import { DEFAULT_WT_SESSIONS, WtSessionTable } from "../../src/session/table.ts";
import { type ServerState, type StateEvent, StateStore } from "../../src/state.ts";
import { recipeConfig } from "../helpers/config.ts";

function setup(settings: Partial<typeof DEFAULT_WT_SESSIONS> = {}) {
  const config = recipeConfig(9090, 9091);
  const store = new StateStore();
  store.sync(config);
  let t = 1_000_000;
  const events: StateEvent[] = [];
  store.on((e) => events.push(e));
  const table = new WtSessionTable(
    store,
    { ...DEFAULT_WT_SESSIONS, timeoutMs: 1000, ...settings },
    config,
    { now: () => t, tickMs: 3_600_000 },
  );
  const s = (key: string) => store.servers.get(key)!;
  return {
    store,
    table,
    events,
    s,
    advance(ms: number) {
      t += ms;
      table.expire();
    },
  };
}

const ID1 = "wt1Ab3xQ9zLm2Kp7Rt4V";
const ID2 = "wt1Zz9yP0aBcDeFgHiJk";
const ID3 = "wt2Qw8eR7tY6uI5oP4aS";

Deno.test("sessions are counted per Wt process, shared by the servers at its address", () => {
  const { table, s } = setup();
  try {
    table.answered("bck1/srv1", ID1);
    table.answered("bck1/srv1", ID1);
    table.answered("bck1/srv1", ID2);
    table.answered("bck2/srv2", ID3);
    assertEquals(s("bck1/srv1").wtSessions, 2);
    assertEquals(s("bck_lb/srv1").wtSessions, 2, "the tracker at the same address shows them");
    assertEquals(s("bck2/srv2").wtSessions, 1);
    assertEquals(table.count("bck_lb/srv2"), 1);
    const list = table.list("bck1/srv1");
    assertEquals(list.map((v) => [v.id, v.requests, v.websocket]), [
      ["wt1Ab3x…", 2, false],
      ["wt1Zz9y…", 1, false],
    ]);
    // A wt1 id answered by wt2 (misrouted, e.g. after a failover): not a wt2 session.
    table.answered("bck2/srv2", "wt1Other0000000000000");
    assertEquals(s("bck2/srv2").wtSessions, 1);
    // Not the shape of a session id: ignored.
    table.answered("bck2/srv2", "wt2<script>");
    table.answered("bck2/srv2", "wt2" + "a".repeat(200));
    assertEquals(s("bck2/srv2").wtSessions, 1);
  } finally {
    table.stop();
  }
});

Deno.test("a session ends after the timeout without a request; an open WebSocket keeps it", () => {
  const { table, s, advance } = setup({ timeoutMs: 1000 });
  try {
    table.answered("bck1/srv1", ID1);
    table.answered("bck1/srv1", ID2);
    table.wsOpened("bck1/srv1", ID2);
    advance(600);
    table.answered("bck1/srv1", ID1); // a request renews it
    advance(600);
    assertEquals(s("bck1/srv1").wtSessions, 2);
    advance(1000);
    assertEquals(table.list("bck1/srv1").map((v) => [v.id, v.websocket]), [["wt1Zz9y…", true]]);
    advance(5000);
    assertEquals(s("bck1/srv1").wtSessions, 1, "the WebSocket is still open");
    table.wsClosed("bck1/srv1", ID2);
    advance(999);
    assertEquals(s("bck1/srv1").wtSessions, 1, "the timeout runs from the close");
    advance(1);
    assertEquals(s("bck1/srv1").wtSessions, 0);
    assertEquals(s("bck_lb/srv1").wtSessions, 0);
  } finally {
    table.stop();
  }
});

Deno.test("DOWN ends the sessions of a server; MAINT of every entry of the process too; both count them lost", () => {
  const { table, s, store, events } = setup();
  try {
    table.answered("bck1/srv1", ID1);
    table.answered("bck2/srv2", ID3);
    // The checker takes bck1/srv1 DOWN (and bck_lb/srv1 with it).
    const st = s("bck1/srv1");
    st.health = "DOWN";
    store.emit({
      kind: "down",
      key: st.key,
      backend: "bck1",
      server: "srv1",
      message: "Server bck1/srv1 is DOWN",
      level: "alert",
      time: 0,
    });
    assertEquals([s("bck1/srv1").wtSessions, s("bck_lb/srv1").wtSessions], [0, 0]);
    assertEquals(table.list("bck1/srv1"), []);
    // They are lost: counted for every entry of the process, said once on the event line.
    assertEquals([s("bck1/srv1").wtSessionsLost, s("bck_lb/srv1").wtSessionsLost], [1, 1]);
    const lost = () =>
      events.splice(0).filter((e) => e.kind === "sessions-lost").map((e) => e.message);
    assertEquals(lost(), ["Server bck1/srv1 lost 1 Wt session (server DOWN)."]);
    // MAINT of bck2/srv2 (its tracker follows): the process is out, its sessions end.
    setAdminState(store, "bck2/srv2", "MAINT");
    assertEquals(s("bck2/srv2").wtSessions, 0);
    assertEquals(s("bck2/srv2").wtSessionsLost, 1);
    assertEquals(table.size, 0);
    assertEquals(lost(), ["Server bck2/srv2 lost 1 Wt session (MAINT)."]);
    // Nothing left to lose: no more lost sessions, no more lines.
    setAdminState(store, "bck1/srv1", "MAINT");
    assertEquals(s("bck1/srv1").wtSessionsLost, 1);
    assertEquals(lost(), []);
  } finally {
    table.stop();
  }
});

Deno.test("at the cap the least recently seen session is dropped first", () => {
  const { table, s, advance } = setup({ max: 3, timeoutMs: 60_000 });
  try {
    const ids = ["wt1aaaa0001", "wt1aaaa0002", "wt1aaaa0003", "wt1aaaa0004"];
    for (const id of ids.slice(0, 3)) {
      table.answered("bck1/srv1", id);
      advance(1);
    }
    table.answered("bck1/srv1", ids[0]); // seen again: now the youngest
    table.answered("bck1/srv1", ids[3]);
    assertEquals(table.size, 3);
    assertEquals(s("bck1/srv1").wtSessions, 3);
    assertEquals(table.list("bck1/srv1").map((v) => v.id).sort(), [
      "wt1aaaa…",
      "wt1aaaa…",
      "wt1aaaa…",
    ]);
    // Which one went: answering it again creates it anew (1 request).
    table.answered("bck1/srv1", ids[1]);
    const views = table.list("bck1/srv1");
    assertEquals(views.length, 3);
    assertEquals(views.filter((v) => v.requests === 2).length, 1, "ids[0] survived");
  } finally {
    table.stop();
  }
});

/** How a server stops taking new traffic, and starts again: the admin API's DRAIN, or its HTTP
 * check answering 404 under disable-on-404 (NOLB), then 200. */
const STOPS = {
  DRAIN: {
    enter: (store: StateStore, st: ServerState) => setAdminState(store, st.key, "DRAIN"),
    leave: (store: StateStore, st: ServerState) => setAdminState(store, st.key, "READY"),
  },
  NOLB: {
    enter: (store: StateStore, st: ServerState) =>
      applyCheckResult(store, st, result("L7OKCD", performance.now(), 404)),
    leave: (store: StateStore, st: ServerState) =>
      applyCheckResult(store, st, result("L7OK", performance.now(), 200)),
  },
};

for (const [how, { enter, leave }] of Object.entries(STOPS)) {
  Deno.test(`a server in ${how} is reported drained once its last session ends`, () => {
    const { table, s, store, events, advance } = setup({ timeoutMs: 1000 });
    try {
      table.answered("bck1/srv1", ID1);
      enter(store, s("bck1/srv1"));
      assert(!table.drained(s("bck1/srv1")));
      const drained = () => events.filter((e) => e.kind === "drained").map((e) => e.message);
      assertEquals(drained(), []);
      advance(1000);
      assertEquals(drained(), ["Server bck1/srv1 is drained: no Wt session left"]);
      assert(table.drained(s("bck1/srv1")));
      assertEquals(events.at(-1)!.level, "notice");
      // Its tracker is drained too for the views, but not reported apart.
      assert(table.drained(s("bck_lb/srv1")));
      // Stopping a server with no session: drained at once; back in service and again: once more.
      enter(store, s("bck2/srv2"));
      assertEquals(drained().length, 2);
      leave(store, s("bck1/srv1"));
      assert(!table.drained(s("bck1/srv1")));
      enter(store, s("bck1/srv1"));
      assertEquals(drained().length, 3);
    } finally {
      table.stop();
    }
  });
}

Deno.test("ids are masked: at most the prefix plus 4 characters", () => {
  assertEquals(maskId("wt1Ab3xQ9zLm2Kp7Rt4V", "wt1"), "wt1Ab3x…");
  assertEquals(maskId("Ab3xQ9zLm2Kp7Rt4V", null), "Ab3x…");
  assertEquals(maskId("wt1Ab", "wt1"), "wt1A…");
  assertEquals(maskId("abc", null), "ab…");
});

Deno.test("a reload keeps the sessions of addresses that remain", () => {
  const { table, s, store } = setup();
  try {
    table.answered("bck1/srv1", ID1);
    table.answered("bck2/srv2", ID3);
    const next = recipeConfig(9090, 9999); // wt2 moved: its sessions are gone
    store.sync(next);
    table.sync(next);
    assertEquals(s("bck1/srv1").wtSessions, 1);
    assertEquals(s("bck2/srv2").wtSessions, 0);
    assertEquals(table.size, 1);
  } finally {
    table.stop();
  }
});
