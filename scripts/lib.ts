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

/** Resident memory of `pid` in MB; NaN when it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The child processes a benchmark starts, so every one of them is stopped at the end. */
export class Processes {
  private readonly children: Deno.ChildProcess[] = [];

  constructor(private readonly stderr: "inherit" | "null" = "inherit") {}

  spawn(cmd: string, argv: string[]): Deno.ChildProcess {
    const child = new Deno.Command(cmd, { args: argv, stdout: "null", stderr: this.stderr })
      .spawn();
    this.children.push(child);
    return child;
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves once it has exited. */
  async kill(child: Deno.ChildProcess): Promise<void> {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 3000);
    await child.status;
    clearTimeout(t);
    const i = this.children.indexOf(child);
    if (i !== -1) this.children.splice(i, 1);
  }

  /** Stops everything still running, the last started first. */
  async killAll(): Promise<void> {
    for (const c of [...this.children].reverse()) await this.kill(c);
  }
}
