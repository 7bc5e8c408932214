// What a starting data-plane worker is sent of the control plane's Wt session table: its
// SessionReplica then knows every live session where the table does (a draining server keeps
// them), an open WebSocket included.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DEFAULT_WT_SESSIONS, WtSessionTable } from "../../src/session/table.ts";
import { SessionReplica } from "../../src/session/replica.ts";
import { StateStore } from "../../src/state.ts";
import { loc, recipeConfig } from "../helpers/config.ts";

const ID1 = "wt1Ab3xQ9zLm2Kp7Rt4V";
const ID2 = "wt1Zz9yP0aBcDeFgHiJk";
const ID3 = "wt2Qw8eR7tY6uI5oP4aS";

Deno.test("a new worker's replica learns the live sessions from the table's snapshot", () => {
  const base = recipeConfig(9090, 9091);
  const config = {
    ...base,
    global: { ...base.global, wtSessions: { param: "wtd", timeout: 600_000, max: 1000, loc } },
  };
  const store = new StateStore();
  store.sync(config);
  const table = new WtSessionTable(store, { ...DEFAULT_WT_SESSIONS }, config, {
    tickMs: 3_600_000,
  });
  try {
    table.answered("bck1/srv1", ID1);
    table.wsOpened("bck1/srv1", ID2);
    table.answered("bck2/srv2", ID3);
    let t = Date.now();
    const replica = new SessionReplica(config, () => t, store.servers);
    assertEquals(replica.isLive("bck1/srv1", ID1), false);
    replica.apply(table.snapshot());
    assertEquals(
      [
        replica.isLive("bck1/srv1", ID1),
        replica.isLive("bck1/srv1", ID2),
        replica.isLive("bck2/srv2", ID3),
      ],
      [true, true, true],
    );
    // Where the table says not live, the replica agrees.
    assertEquals(replica.isLive("bck2/srv2", ID1), false);
    // The open WebSocket came along: past the timeout, its session is the one still live.
    t += 600_001;
    assertEquals([replica.isLive("bck1/srv1", ID1), replica.isLive("bck1/srv1", ID2)], [
      false,
      true,
    ]);
  } finally {
    table.stop();
  }
});
