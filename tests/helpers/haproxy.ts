// Runs the real HAProxy (2.6, Debian package) on a configuration text, for side-by-side tests.
// `available()` is false when the binary is missing: such tests are skipped (ignore), never pass.

export interface Haproxy {
  stop(): Promise<void>;
}

let found: boolean | null = null;

export async function haproxyAvailable(): Promise<boolean> {
  if (found === null) {
    try {
      const out = await new Deno.Command("haproxy", {
        args: ["-v"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      found = out.success;
    } catch {
      found = false;
    }
  }
  return found;
}

/** Starts `haproxy -db -f` on `cfg` and waits (bounded) until `port` accepts connections. */
export async function startHaproxy(cfg: string, port: number): Promise<Haproxy> {
  const dir = await Deno.makeTempDir({ prefix: "wtproxy-haproxy-" });
  const file = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(file, cfg);
  const child = new Deno.Command("haproxy", {
    args: ["-db", "-f", file],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let errText = "";
  const drain = (async () => {
    for (;;) {
      const r = await stderr.read().catch(() => ({ done: true, value: "" }));
      if (r.done) return;
      errText += r.value;
    }
  })();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await drain;
    await Deno.remove(dir, { recursive: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { stop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stop();
  throw new Error(`haproxy did not start: ${errText}`);
}
