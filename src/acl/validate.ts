// `wtproxy -c`: ACL and use_backend errors with FILE:LINE:COL, without building a router.
import type { Diagnostic, FrontendConfig } from "../config/model.ts";
import { compileFrontend } from "./compile.ts";

/** Every problem in the frontend's ACLs and rules (unknown fetch/ACL, bad regex/CIDR/operator, nbsrv of an unknown backend). */
export function validateFrontendAcls(
  frontend: FrontendConfig,
  backendNames: ReadonlySet<string>,
): Diagnostic[] {
  return compileFrontend(frontend, { backendNames }).diagnostics;
}
