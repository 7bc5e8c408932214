// Affinity with the session table: a server in DRAIN (or at weight 0, or NOLB) keeps the requests of its
// own live sessions; new sessions, expired ones and every session of a DOWN or MAINT server are
// balanced. Without the table, drain keeps HAProxy's meaning (no traffic at all).

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createBalancer } from "../../src/balance/create.ts";
import { setAdminState, setWeight } from "../../src/health/machine.ts";
import { DEFAULT_WT_SESSIONS, WtSessionTable } from "../../src/session/table.ts";
import { StateStore } from "../../src/state.ts";
import { req, shorthandConfig } from "../balance/fixture.ts";

Deno.test("affinity: a draining server keeps its live sessions, and only those", () => {
  const config = shorthandConfig();
  const store = new StateStore();
  store.sync(config);
  const table = new WtSessionTable(store, DEFAULT_WT_SESSIONS, config, { tickMs: 3_600_000 });
  try {
    const app = config.backends[0];
    const lb = createBalancer(app, store, table);
    const plain = createBalancer(app, store); // no table: HAProxy's drain
    const pick = (b: typeof lb, target: string) => b.pick(req(target))?.config.name;
    table.answered("app/srv1", "wt1Live000000000000");
    setAdminState(store, "app/srv1", "DRAIN");
    for (let i = 0; i < 4; i++) {
      assertEquals(pick(lb, "/?wtd=wt1Live000000000000&request=jsupdate"), "srv1");
      assertEquals(pick(lb, "/?wtd=wt1Gone000000000000"), "srv2", "not live: balanced");
      assertEquals(pick(lb, "/"), "srv2", "new sessions go elsewhere");
      assertEquals(pick(plain, "/?wtd=wt1Live000000000000"), "srv2");
    }
    // Weight 0 means the same as drain for new traffic.
    setAdminState(store, "app/srv1", "READY");
    setWeight(store, "app/srv1", 0);
    assertEquals(pick(lb, "/?wtd=wt1Live000000000000"), "srv1");
    assertEquals(pick(lb, "/"), "srv2");
    setWeight(store, "app/srv1", 1);
    // NOLB (its check answered 404 under http-check disable-on-404): likewise.
    store.servers.get("app/srv1")!.nolb = true;
    assertEquals(pick(lb, "/?wtd=wt1Live000000000000"), "srv1");
    assertEquals(pick(lb, "/?wtd=wt1Gone000000000000"), "srv2");
    assertEquals(pick(lb, "/"), "srv2");
    assertEquals(pick(plain, "/?wtd=wt1Live000000000000"), "srv2");
    store.servers.get("app/srv1")!.nolb = false;
    // MAINT: out of service, sessions included (and the table forgets them).
    setAdminState(store, "app/srv1", "MAINT");
    assertEquals(pick(lb, "/?wtd=wt1Live000000000000"), "srv2");
    assertEquals(table.size, 0);
    // DOWN: likewise.
    setAdminState(store, "app/srv1", "READY");
    table.answered("app/srv1", "wt1Live000000000000");
    setAdminState(store, "app/srv1", "DRAIN");
    store.servers.get("app/srv1")!.health = "DOWN";
    assertEquals(pick(lb, "/?wtd=wt1Live000000000000"), "srv2");
  } finally {
    table.stop();
  }
});
