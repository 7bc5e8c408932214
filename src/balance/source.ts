// `source`: hash of the client IP address, so one client keeps reaching the same server
// while the set of usable servers does not change.
import { selectors } from "./selector.ts";
import { byWeight, sdbm } from "./hash.ts";

selectors.set("source", () => ({
  pick: (servers, req) => byWeight(servers, sdbm(req.srcIp)),
}));
