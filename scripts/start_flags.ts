// The --v8-flags of deno.json's `start` task, so benchmarks run wtproxy the way users do.

export function startTaskV8Flags(): string | undefined {
  try {
    const cfg = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
    return /--v8-flags=(\S+)/.exec(cfg.tasks?.start ?? "")?.[1];
  } catch {
    return undefined;
  }
}
