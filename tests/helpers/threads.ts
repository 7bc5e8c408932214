// The end-to-end suites run at nbthread 1 and at nbthread 2: `deno task test` runs them a second
// time with WTPROXY_TEST_NBTHREAD=2 (see deno.json "test:threads").
import { type Runtime, type RuntimeOptions, startRuntime } from "../../src/runtime.ts";
import type { Config } from "../../src/config/model.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";

/** Data-plane threads for this test run (1 unless WTPROXY_TEST_NBTHREAD says otherwise). */
export const TEST_NBTHREAD = Number(Deno.env.get("WTPROXY_TEST_NBTHREAD") ?? "1") || 1;

/**
 * startRuntime at this run's nbthread (given options win). A test that replaces the
 * connector stays at nbthread 1: a function cannot cross to a worker.
 */
export function testRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const nbthread = opts.connector ? 1 : TEST_NBTHREAD;
  return startRuntime(config, { nbthread, ...opts });
}

/**
 * Which servers answered, in turn. At nbthread 1 the exact order (roundrobin alternates);
 * with workers each one takes its own turns over the connections the kernel gives it, so only
 * the set of servers is checked (enough requests that every expected server answers).
 */
export function assertTurns(seen: string[], expected: string[]): void {
  if (TEST_NBTHREAD === 1) assertEquals(seen, expected);
  else assertEquals(new Set(seen), new Set(expected));
}
