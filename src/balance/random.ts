// `random`: power of two choices. Two servers are drawn at random in proportion to their
// weights and the one with fewer open connections (per weight) wins: random spread without
// piling onto a busy server. `random(N)` draws N.
import { type Selector, selectors, type ServerRef } from "./selector.ts";

export function powerOfChoices(draws: number, rng: () => number = Math.random): Selector {
  const drawOne = (servers: readonly ServerRef[]): ServerRef => {
    let total = 0;
    for (const s of servers) total += s.state.weight;
    let x = rng() * total;
    for (const s of servers) {
      x -= s.state.weight;
      if (x < 0) return s;
    }
    return servers[servers.length - 1];
  };
  return {
    pick(servers) {
      let best = drawOne(servers);
      for (let i = 1; i < draws; i++) {
        const other = drawOne(servers);
        const a = best.state.counters.current / best.state.weight;
        const b = other.state.counters.current / other.state.weight;
        if (b < a) best = other;
      }
      return best;
    },
  };
}

selectors.set("random", (backend) => {
  const draws = Number((backend.balance.param ?? "").trim() || "2");
  return powerOfChoices(Number.isInteger(draws) && draws > 0 ? draws : 2);
});
