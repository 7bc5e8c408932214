// Small helpers the benchmark scripts share: ports, process figures from /proc, and the V8
// flags wtproxy runs with.

/** The --v8-flags of deno.json's `start` task, so benchmarks run wtproxy the way users do. */
export function startTaskV8Flags(): string | undefined {
  try {
    const cfg = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
    return /--v8-flags=(\S+)/.exec(cfg.tasks?.start ?? "")?.[1];
  } catch {
    return undefined;
  }
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Waits until something accepts connections on 127.0.0.1:`port` (bounded). */
export async function waitPort(port: number, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > until) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** CPU seconds (user + system, all threads) used so far by `pid`; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}
