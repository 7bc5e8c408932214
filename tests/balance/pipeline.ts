// The routing half of the proxy, without sockets: router -> balancer, over one StateStore.
import { compileRouter } from "../../src/acl/compile.ts";
import { createBalancer } from "../../src/balance/create.ts";
import type { Config } from "../../src/config/model.ts";
import type { RequestInfo } from "../../src/proxy/request.ts";
import { StateStore } from "../../src/state.ts";

export interface Routed {
  backend: string;
  server: string;
  /** What actually answers: the server's address (bck1/srv1 and bck_lb/srv1 are one Wt). */
  address: string;
}

export function pipeline(config: Config) {
  const store = new StateStore();
  store.sync(config);
  const backends = new Map(config.backends.map((b) => [b.name, b]));
  const ctx = {
    nbsrv: (name: string) => {
      const b = backends.get(name);
      return b ? store.nbsrv(b) : 0;
    },
  };
  const router = compileRouter(config.frontends[0], ctx);
  const balancers = new Map(config.backends.map((b) => [b.name, createBalancer(b, store)]));
  return {
    store,
    nbsrv: ctx.nbsrv,
    /** Where the request goes, or null for a 503. */
    pick(req: RequestInfo, exclude?: ReadonlySet<string>): Routed | null {
      const backend = router.route(req);
      if (backend === null) return null;
      const s = balancers.get(backend)!.pick(req, exclude);
      return s ? { backend, server: s.config.name, address: s.config.addressText } : null;
    },
    /** Forces a server's health, as the checker would. */
    setHealth(key: string, health: "UP" | "DOWN") {
      store.servers.get(key)!.health = health;
    },
  };
}
