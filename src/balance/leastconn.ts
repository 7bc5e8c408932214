// `leastconn`: the server with the fewest open connections relative to its weight; equal
// loads take turns (round robin among them), as in HAProxy.
import { selectors } from "./selector.ts";

selectors.set("leastconn", () => {
  let next = 0;
  return {
    pick(servers) {
      const n = servers.length;
      const start = next++ % n;
      let best = servers[start];
      let bestLoad = best.state.counters.current / best.state.weight;
      for (let i = 1; i < n; i++) {
        const s = servers[(start + i) % n];
        const load = s.state.counters.current / s.state.weight;
        if (load < bestLoad) {
          best = s;
          bestLoad = load;
        }
      }
      return best;
    },
  };
});
