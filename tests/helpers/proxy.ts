// Starts wtproxy from a YAML text for tests, with access-log records captured in memory.

import { testRuntime } from "./threads.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/model.ts";
import type { RequestLog } from "../../src/log/record.ts";
import { type Runtime, type RuntimeOptions } from "../../src/runtime.ts";

export interface TestProxy {
  runtime: Runtime;
  /** Port of the first listener. */
  port: number;
  logs: RequestLog[];
  /** Resolves when `n` records have been logged (bounded wait: rejects after `ms`). */
  waitLogs(n: number, ms?: number): Promise<RequestLog[]>;
  stop(): Promise<void>;
}

export async function startTestProxy(
  yaml: string,
  opts: RuntimeOptions = {},
): Promise<TestProxy> {
  const { config } = await loadConfigText(yaml, "test.yaml");
  return await startProxyFrom(config, opts);
}

/** The same from a Config built by hand (tests/helpers/config.ts). */
export async function startProxyFrom(
  config: Config,
  opts: RuntimeOptions = {},
): Promise<TestProxy> {
  const logs: RequestLog[] = [];
  const runtime = await testRuntime(config, {
    logging: false,
    health: false,
    admin: false,
    logger: { request: (_fe, rec) => logs.push({ ...rec }) },
    ...opts,
  });
  return {
    runtime,
    port: runtime.listeners[0].port,
    logs,
    async waitLogs(n, ms = 5000) {
      const until = Date.now() + ms;
      while (logs.length < n) {
        if (Date.now() > until) throw new Error(`only ${logs.length} of ${n} log records`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return logs;
    },
    stop: () => runtime.stop(1000),
  };
}

/** A YAML config with one frontend on 127.0.0.1:0 and one backend `b` with `servers`. */
export function simpleConfig(
  servers: Record<string, string>,
  extra: { defaults?: string; backend?: string; frontend?: string; timeouts?: string } = {},
): string {
  const srv = Object.entries(servers)
    .map(([name, addr]) => `      ${name}: { address: ${addr} }`)
    .join("\n");
  return `
defaults:
  mode: http
  timeouts: ${extra.timeouts ?? "{ connect: 1s, client: 5s, server: 5s }"}
${extra.defaults ?? ""}
frontends:
  f:
    bind: ["127.0.0.1:0"]
    default_backend: b
${extra.frontend ?? ""}
backends:
  b:
${extra.backend ?? ""}
    servers:
${srv}
`;
}
