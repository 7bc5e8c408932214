// Compile one ACL and ask whether it matches a request.
import { ok as assert } from "node:assert/strict";
import { compileFrontend } from "../../src/acl/compile.ts";
import type { RouteContext } from "../../src/acl/router.ts";
import type { RequestInfo } from "../../src/proxy/request.ts";
import { frontend } from "../helpers/config.ts";

export const noServers: RouteContext = { nbsrv: () => 0 };

export function aclMatches(text: string, r: RequestInfo, ctx: RouteContext = noServers): boolean {
  const c = compileFrontend(frontend([["a", text]], [["hit", "if", "a"]], "miss"));
  const errors = c.diagnostics.filter((d) => d.severity === "error");
  assert(c.route, `acl '${text}' did not compile: ${errors.map((d) => d.message).join("; ")}`);
  return c.route(r, ctx) === "hit";
}
