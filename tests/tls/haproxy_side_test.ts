// The issue's edge configuration run by the real HAProxy 2.6 and by wtproxy, side by side: the
// same requests get the same status, Location and headers (plain HTTP redirected to HTTPS,
// X-Forwarded-Proto set toward the server over TLS, HSTS on the server's answers).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";
import { curl, makeCa } from "../helpers/certs.ts";
import { closedPort, echoHead, RawBackend } from "../helpers/raw_backend.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { startRuntime } from "../../src/runtime.ts";

function cfg(tls: number, plain: number, pem: string, server: string): string {
  return `defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
frontend www
  bind 127.0.0.1:${tls} ssl crt ${pem}
  bind 127.0.0.1:${plain}
  http-request redirect scheme https unless { ssl_fc }
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-response set-header Strict-Transport-Security "max-age=63072000"
  default_backend app
backend app
  server s1 ${server}
`;
}

interface Seen {
  status: string;
  headers: string[];
  body: string;
}

/** curl -i: the status line and the header lines (lower-cased names, sorted), and the body. */
async function ask(args: string[]): Promise<Seen> {
  const r = await curl(["-i", ...args]);
  assertEquals(r.code, 0, r.err);
  const [head, ...rest] = r.out.split("\r\n\r\n");
  const lines = head.split("\r\n");
  return {
    status: lines[0],
    headers: lines.slice(1).map((l) => {
      const i = l.indexOf(":");
      return `${l.slice(0, i).toLowerCase()}:${l.slice(i + 1).trim()}`;
    }).sort(),
    body: rest.join("\r\n\r\n"),
  };
}

Deno.test({
  name:
    "HAProxy 2.6 and wtproxy answer the edge configuration alike (redirect, X-Forwarded-Proto, HSTS)",
  ignore: !(await haproxyAvailable()),
  async fn() {
    const ca = await makeCa();
    const be = new RawBackend(echoHead);
    const site = await ca.issue("site", ["localhost", "127.0.0.1"]);
    const seen: Seen[][] = [];
    try {
      for (const who of ["haproxy", "wtproxy"]) {
        const tls = closedPort();
        const plain = closedPort();
        const text = cfg(tls, plain, site.pem, be.address);
        const stop = who === "haproxy"
          ? (await startHaproxy(text, plain)).stop
          : await (async () => {
            const { config } = await loadConfigText(text, "edge.cfg");
            const rt = await startRuntime(config, { logging: false, health: false, admin: false });
            return () => rt.stop(1000);
          })();
        try {
          const tlsArgs = ["--cacert", ca.caFile, "-H", "Host: www.example"];
          seen.push([
            await ask([`http://127.0.0.1:${plain}/app?wtd=abc&x=1`, "-H", "Host: www.example"]),
            await ask([`http://127.0.0.1:${plain}/`, "-H", "Host: www.example:8080"]),
            await ask([
              ...["-X", "POST", "-d", "a=1", "-H", "Host: www.example"],
              `http://127.0.0.1:${plain}/form`,
            ]),
            await ask([...tlsArgs, `https://localhost:${tls}/app?wtd=abc`]),
          ]);
        } finally {
          await stop();
        }
      }
      const [h, w] = seen;
      for (let i = 0; i < h.length; i++) {
        assertEquals(w[i].status, h[i].status, `request ${i}`);
        assertEquals(w[i].headers, h[i].headers, `request ${i}`);
      }
      // what they are (HAProxy's), for the reader
      assertEquals(h[0].status, "HTTP/1.1 302 Found");
      assert(h[0].headers.includes("location:https://www.example/app?wtd=abc&x=1"));
      assert(h[3].headers.includes("strict-transport-security:max-age=63072000"));
      // the server got X-Forwarded-Proto over TLS, from both
      const heads = be.received.map((r) => r.head);
      assertEquals(heads.length, 2);
      for (const head of heads) assert(head.includes("\r\nx-forwarded-proto: https\r\n"), head);
      assertEquals(w[3].body, h[3].body.replace(/\r\n/g, "\r\n")); // the same request upstream
    } finally {
      await be.close();
      await ca.remove();
    }
  },
});
