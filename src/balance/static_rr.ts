// `static-rr`: round robin on the weights written in the configuration; weight changes at
// run time (admin API) do not change the proportions (a weight of 0 still drains).
import { selectors } from "./selector.ts";
import { smoothWeighted } from "./roundrobin.ts";

selectors.set("static-rr", () => smoothWeighted((s) => Math.max(1, s.config.weight)));
