// `check` without `option httpchk`: a TCP connect to the server's own address, closed at once
// (HAProxy resets it; Deno cannot set SO_LINGER 0, so ours is a normal close).

import type { ServerConfig } from "../config/model.ts";
import {
  type Checker,
  type CheckOptions,
  type CheckResult,
  connectWithin,
  errorInfo,
  result,
} from "./checker.ts";

export class TcpChecker implements Checker {
  async check(
    server: ServerConfig,
    timeoutMs: number,
    opts: CheckOptions = {},
  ): Promise<CheckResult> {
    const start = performance.now();
    const out = await connectWithin(server, opts.connectTimeoutMs ?? timeoutMs, opts.signal);
    if (out.kind === "timeout") return result("L4TOUT", start);
    if (out.kind === "error") return result("L4CON", start, undefined, errorInfo(out.error));
    const r = result("L4OK", start);
    try {
      out.conn.close();
    } catch { /* already closed */ }
    return r;
  }
}
