// `uri`: hash of the path (the part before `?`), or of the whole target with `balance uri
// whole`, so one resource is always served by the same server (caches).
import { selectors } from "./selector.ts";
import { byWeight, sdbm } from "./hash.ts";

selectors.set("uri", (backend) => {
  const whole = (backend.balance.param ?? "").split(/\s+/).includes("whole");
  return {
    pick: (servers, req) => byWeight(servers, sdbm(whole ? req.target : req.path)),
  };
});
