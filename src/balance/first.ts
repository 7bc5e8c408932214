// `first`: the first server in configuration order that has a free connection slot
// (maxconn 0 = unlimited), so the others can be powered down when idle. When every server
// is full there is no queue to wait in: no server (503).
import { selectors } from "./selector.ts";

selectors.set("first", () => ({
  pick(servers) {
    for (const s of servers) {
      if (s.config.maxconn === 0 || s.state.counters.current < s.config.maxconn) return s;
    }
    return undefined;
  },
}));
