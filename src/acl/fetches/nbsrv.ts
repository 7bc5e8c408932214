// `nbsrv(backend)`: usable servers of a backend right now (read from the state store through
// RouteContext, so health changes apply to the next request without recompiling).
import { AclError, fetches } from "../types.ts";

fetches.set("nbsrv", {
  type: "int",
  minArgs: 1,
  maxArgs: 1,
  compile(args, env) {
    const backend = args[0];
    if (env.backendNames && !env.backendNames.has(backend)) {
      throw new AclError(`no such backend '${backend}' in nbsrv()`, { argIndex: 0 });
    }
    return (_req, ctx) => ctx.nbsrv(backend);
  },
});
