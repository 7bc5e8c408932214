// `roundrobin`: smooth weighted round robin (nginx's algorithm) on the current weights, per
// request and shared by all clients. Equal weights alternate strictly; ties go to the server
// listed first, so the first pick after start is the first server (HAProxy's observed order).
import type { ServerState } from "../state.ts";
import { type Selector, selectors, type ServerRef } from "./selector.ts";

export function smoothWeighted(weightOf: (s: ServerRef) => number): Selector {
  // Keyed by the state object, which lives as long as the server does.
  const current = new Map<ServerState, number>();
  return {
    pick(servers) {
      let total = 0;
      let best: ServerRef | undefined;
      let bestWeight = -Infinity;
      for (const s of servers) {
        const w = weightOf(s);
        total += w;
        const cw = (current.get(s.state) ?? 0) + w;
        current.set(s.state, cw);
        if (cw > bestWeight) {
          best = s;
          bestWeight = cw;
        }
      }
      if (best) current.set(best.state, bestWeight - total);
      return best;
    },
  };
}

selectors.set("roundrobin", () => smoothWeighted((s) => s.state.weight));
