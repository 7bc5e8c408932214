// `wtproxy --healthz ADDR:PORT`: asks a running wtproxy's admin listener for /healthz and exits
// 0 on 200, 1 otherwise. For container health checks in images without curl (distroless).

/** Exit code of one probe of `target` (`ADDR:PORT` or a full http:// URL), within `ms`. */
export async function probeHealthz(target: string, ms = 3000): Promise<number> {
  const url = /^https?:\/\//.test(target) ? target : `http://${target}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
    const body = (await res.text()).trim();
    if (res.status === 200) return 0;
    console.error(`wtproxy: ${url}: ${res.status} ${body}`);
    return 1;
  } catch (err) {
    console.error(`wtproxy: ${url}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
