// `check` without `option httpchk`: a TCP connect to the server's own address, closed at once
// (HAProxy resets it; Deno cannot set SO_LINGER 0, so ours is a normal close).

import type { ServerConfig } from "../config/model.ts";
import {
  type Checker,
  type CheckOptions,
  type CheckResult,
  connectPhase,
  result,
} from "./checker.ts";

export class TcpChecker implements Checker {
  async check(
    server: ServerConfig,
    timeoutMs: number,
    opts: CheckOptions = {},
  ): Promise<CheckResult> {
    const l4 = await connectPhase(server, timeoutMs, opts);
    if ("failed" in l4) return l4.failed;
    const r = result("L4OK", l4.start);
    try {
      l4.conn.close();
    } catch { /* already closed */ }
    return r;
  }
}
