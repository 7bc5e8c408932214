// wss:// through a TLS bind to the plain demo server: the upgrade over TLS, then the server's
// pushes relayed through the tunnel.

import { deepStrictEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { makeCa } from "../helpers/certs.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { startWtServer } from "../../src/demo/wtserver.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("wss:// through a TLS bind to the demo server: 101, then pushes", async () => {
  const ca = await makeCa();
  const wt = await startWtServer({ prefix: "wt1", port: 0 });
  const site = await ca.issue("site", ["localhost"]);
  const px = await startTestProxy(`
defaults:
  mode: http
  timeouts: { connect: 1s, client: 5s, server: 5s, tunnel: 30s }
frontends:
  f:
    bind: [{ address: "127.0.0.1:0", ssl: { crt: ${JSON.stringify(site.pem)} } }]
    default_backend: b
    http-request:
      - set-header X-Forwarded-Proto https if { ssl_fc }
backends:
  b:
    servers:
      s1: { address: "127.0.0.1:${wt.port}" }
`);
  const client = Deno.createHttpClient({ caCerts: [ca.caPem], http2: false });
  let conn: Deno.TlsConn | null = null;
  try {
    const page = await fetch(`https://localhost:${px.port}/`, { client });
    await page.text();
    const session = page.headers.get("x-wt-session")!;
    match(session, /^wt1/);
    conn = await Deno.connectTls({ hostname: "localhost", port: px.port, caCerts: [ca.caPem] });
    await conn.write(enc.encode(
      `GET /?wtd=${session}&request=ws HTTP/1.1\r\nHost: localhost:${px.port}\r\n` +
        `Origin: https://localhost:${px.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    ));
    // read the 101 head and at least one whole text frame after it (bounded)
    let got = new Uint8Array(0);
    const buf = new Uint8Array(8192);
    let frame: string | null = null;
    for (let i = 0; i < 50 && frame === null; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      const next = new Uint8Array(got.length + n);
      next.set(got);
      next.set(buf.subarray(0, n), got.length);
      got = next;
      const text = dec.decode(got);
      const end = text.indexOf("\r\n\r\n");
      if (end === -1) continue;
      assert(text.startsWith("HTTP/1.1 101 "), text);
      const rest = got.subarray(enc.encode(text.slice(0, end + 4)).length);
      // a server frame: FIN+text, unmasked, length < 126
      if (rest.length >= 2 && rest.length >= 2 + (rest[1] & 0x7f)) {
        assertEquals(rest[0], 0x81);
        frame = dec.decode(rest.subarray(2, 2 + (rest[1] & 0x7f)));
      }
    }
    assert(frame !== null, "no push received");
    const push = JSON.parse(frame);
    assertEquals(push.session, session);
    assertEquals(push.server, "wt1");
  } finally {
    conn?.close();
    client.close();
    await px.stop();
    await wt.stop();
    await ca.remove();
  }
});
