// `sessions` (wtproxy only; no peer has it): a new Wt session goes to the usable server with
// the fewest live Wt sessions per unit of weight (ServerState.wtSessions, kept by the session
// table, src/session/); servers at a tie take turns in proportion to their weights (smooth
// weighted round robin among the tied), so with no session anywhere it is roundrobin. A server
// at its `maxconn` is passed over; when all are, no server (503, as `first`). Requests of a live
// session do not come here: affinity or the recipe's ACLs send them to their server.
import { selectors, type ServerRef } from "./selector.ts";

selectors.set("sessions", () => {
  // Smooth weighted round robin state among tied servers, per server.
  const current = new WeakMap<ServerRef["state"], number>();
  const tied: ServerRef[] = [];
  return {
    pick(servers) {
      tied.length = 0;
      let best = Infinity;
      for (const s of servers) {
        const max = s.config.maxconn;
        if (max > 0 && s.state.counters.current >= max) continue;
        const load = s.state.wtSessions / s.state.weight;
        if (load < best) {
          best = load;
          tied.length = 0;
        }
        if (load === best) tied.push(s);
      }
      if (tied.length <= 1) return tied[0];
      let total = 0;
      let pick: ServerRef | undefined;
      let pickCw = -Infinity;
      for (const s of tied) {
        const w = s.state.weight;
        const cw = (current.get(s.state) ?? 0) + w;
        current.set(s.state, cw);
        total += w;
        if (cw > pickCw) {
          pick = s;
          pickCw = cw;
        }
      }
      current.set(pick!.state, pickCw - total);
      tied.length = 0;
      return pick;
    },
  };
});
