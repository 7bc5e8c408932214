// `url_param NAME`: hash of the first value of query parameter NAME (raw); requests without
// it are balanced round robin, as in HAProxy.
import { firstUrlParam } from "../acl/fetches/url.ts";
import { selectors } from "./selector.ts";
import { byWeight, sdbm } from "./hash.ts";
import { smoothWeighted } from "./roundrobin.ts";

selectors.set("url_param", (backend) => {
  const name = (backend.balance.param ?? "").split(/\s+/)[0];
  const fallback = smoothWeighted((s) => s.state.weight);
  return {
    pick(servers, req) {
      const value = name ? firstUrlParam(req.query, name) : null;
      return value === null ? fallback.pick(servers, req) : byWeight(servers, sdbm(value));
    },
  };
});
