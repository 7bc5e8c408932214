// Unix datagram targets (/dev/log) exist only with --unstable-net in Deno 2.9: this test runs
// tests/log/unix_probe.ts in a child `deno run --unstable-net` and checks what the socket got.

import { deepStrictEqual as assertEquals } from "node:assert/strict";

Deno.test("unix target: datagrams reach a unix datagram socket under --unstable-net", async () => {
  const probe = new URL("./unix_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-net", "--allow-net", "--allow-read", "--allow-write", probe],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const { got, dropped, missingDropped } = JSON.parse(text);
  const hdr = "Nov 23 20:02:06 wtproxy[42]: ";
  assertEquals(got, [
    `<134>${hdr}127.0.0.1:59274 [23/Nov/2026:20:02:06.018] wt bck1/srv1 0/0/2/7/9 200 276 - - ---- 1/1/0/0/0 0/0 "GET /?wtd=wt1abc HTTP/1.1"\n`,
    `<129>${hdr}Server bck1/srv1 is DOWN\n`,
  ]);
  assertEquals(dropped, 0);
  assertEquals(missingDropped, 2);
});
