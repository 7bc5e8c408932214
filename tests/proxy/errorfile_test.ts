// errorfile / errorfiles / http-errors: wtproxy's own error answers come from the proxy's error
// files, byte for byte as HAProxy 2.6 sends them (compared with the real haproxy binary), and the
// files are checked at load with HAProxy's rules and FILE:LINE:COL messages.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { startRuntime } from "../../src/runtime.ts";
import { closedPort } from "../helpers/raw_backend.ts";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";

/** Sends `req` and reads until the proxy closes (or 1.5 s of silence). */
async function exchange(port: number, req: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(req));
  let out = "";
  const buf = new Uint8Array(65536);
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      c.read(buf),
      new Promise<"idle">((r) => timer = setTimeout(() => r("idle"), 1500)),
    ]).catch(() => null);
    clearTimeout(timer);
    if (n === null || n === "idle") break;
    out += new TextDecoder("latin1").decode(buf.subarray(0, n));
  }
  c.close();
  return out;
}

const FILES: Record<string, string> = {
  "503.http": "HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n" +
    "X-Custom: yes\r\n\r\nbusy!",
  "502.http": "HTTP/1.0 502 Bad Gateway\r\nCache-Control: no-cache\r\nConnection: close\r\n" +
    "Content-Type: text/html\r\n\r\n<html><body><h1>502 custom</h1></body></html>\n",
};

function cfg(port: number, dir: string, dead: number): string {
  return `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
    `  retries 0\n  errorfile 503 ${dir}/503.http\n` +
    `http-errors site\n  errorfile 502 ${dir}/502.http\n` +
    `frontend f\n  bind 127.0.0.1:${port}\n  errorfiles site\n` +
    `  use_backend bad if { path_beg /bad }\n  default_backend dead\n` +
    `backend dead\n  server s 127.0.0.1:${dead}\n` +
    `backend bad\n  server s 127.0.0.1:${dead + 0}\n  errorfile 503 ${dir}/502.http\n`;
}

const REQUESTS = [
  // kept alive: the file gives a length, both pipelined requests are answered
  "GET / HTTP/1.1\r\nhost: a\r\n\r\nGET /again HTTP/1.1\r\nhost: a\r\n\r\n",
  // an HTTP/1.0 client: connection: close added
  "GET / HTTP/1.0\r\n\r\n",
  // the backend's own 503 page (a file without a length: the connection closes after it)
  "GET /bad HTTP/1.1\r\nhost: a\r\n\r\nGET /bad HTTP/1.1\r\nhost: a\r\n\r\n",
];

Deno.test({
  name: "errorfile answers are HAProxy's bytes: file status line, lower-case names, framing",
  ignore: !(await haproxyAvailable()),
  async fn() {
    const dir = await Deno.makeTempDir();
    for (const [n, t] of Object.entries(FILES)) await Deno.writeTextFile(`${dir}/${n}`, t);
    const dead = closedPort();
    const hport = closedPort();
    const hap = await startHaproxy(cfg(hport, dir, dead), hport);
    let rt = null;
    try {
      const theirs = [];
      for (const r of REQUESTS) theirs.push(await exchange(hport, r));
      const { config } = await loadConfigText(cfg(0, dir, dead), "ef.cfg");
      rt = await startRuntime(config, { logging: false, health: false, admin: false });
      const ours = [];
      for (const r of REQUESTS) ours.push(await exchange(rt.listeners[0].port, r));
      assertEquals(ours, theirs);
      assert(theirs[0].split("busy!").length === 3, theirs[0]); // two answers on one connection
    } finally {
      await rt?.stop(1000);
      await hap.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("errorfile checks at load: codes, missing file, unparsable, length mismatch, size, sections", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/garbage.http`, "garbage\r\n\r\n");
  await Deno.writeTextFile(`${dir}/len.http`, "HTTP/1.1 503 X\r\nContent-Length: 10\r\n\r\nabc");
  await Deno.writeTextFile(`${dir}/big.http`, "HTTP/1.0 503 X\r\n\r\n" + "a".repeat(20000));
  await Deno.writeTextFile(`${dir}/ok.http`, "HTTP/1.0 503 X\r\n\r\n");
  const text = `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n` +
    `  timeout server 5s\n  errorfile 201 ${dir}/ok.http\n  errorfile 503 ${dir}/none.http\n` +
    `  errorfile 502 ${dir}/garbage.http\n  errorfile 504 ${dir}/len.http\n` +
    `  errorfile 500 ${dir}/big.http\n  errorfiles nosuch\n` +
    `http-errors e\n  errorfile 999 ${dir}/ok.http\n  errorloc 503 /x\n` +
    `frontend f\n  bind 127.0.0.1:0\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n`;
  let msg = "";
  try {
    await loadConfigText(text, "ef.cfg");
  } catch (err) {
    msg = (err as Error).message;
  }
  const want = [
    "ef.cfg:6:13: error: errorfile : status code '201' not handled.",
    `ef.cfg:7:17: error: errorfile : error opening file '${dir}/none.http'.`,
    `ef.cfg:8:17: error: errorfile : '${dir}/garbage.http': unable to parse headers (error offset: 0)`,
    `ef.cfg:9:17: error: errorfile : '${dir}/len.http': payload size does not match the announced content-length (3 != 10)`,
    `ef.cfg:10:17: error: errorfile : custom error message file '${dir}/big.http' larger than 16384 bytes`,
    "ef.cfg:11:14: error: errorfiles : unable to find http-errors section 'nosuch'.",
    "ef.cfg:13:13: error: errorfile : status code '999' not handled.",
    "ef.cfg:14:3: error: unknown keyword 'errorloc' in 'http-errors' section",
  ];
  for (const w of want) assert(msg.includes(w), `missing:\n${w}\nin:\n${msg}`);
  // one message per problem, though the defaults' lines reach the frontend and the backend
  assertEquals(msg.split("\n").filter((l) => l.includes("none.http")).length, 1);
  const yaml = `frontends:\n  f: { bind: ["127.0.0.1:0"], default_backend: b, ` +
    `errorfiles: { 503: ${dir}/ok.http } }\nbackends:\n  b: { servers: { s: 127.0.0.1:1 } }\n`;
  const { config } = await loadConfigText(yaml, "ef.yaml");
  assertEquals(config.frontends[0].errorPages?.[503]?.open, "HTTP/1.0 503 X\r\n\r\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("errorfile: a WebSocket upgrade with no server gets the proxy's 503 page", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/503.http`, FILES["503.http"]);
  const text = `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n` +
    `  timeout server 5s\n  retries 0\nfrontend f\n  bind 127.0.0.1:0\n  default_backend b\n` +
    `backend b\n  errorfile 503 ${dir}/503.http\n  server s 127.0.0.1:${closedPort()}\n`;
  const { config } = await loadConfigText(text, "ws.cfg");
  const rt = await startRuntime(config, { logging: false, health: false, admin: false });
  try {
    const out = await exchange(
      rt.listeners[0].port,
      "GET /ws HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
        "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert(out.startsWith("HTTP/1.1 503 Busy\r\n") && out.includes("busy!"), out);
  } finally {
    await rt.stop(1000);
    await Deno.remove(dir, { recursive: true });
  }
});
