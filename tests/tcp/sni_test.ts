// SNI routing without terminating TLS: `tcp-request inspect-delay` + `tcp-request content
// accept if { req_ssl_hello_type 1 }` and use_backend on `req_ssl_sni`, with real ClientHellos
// (Deno.startTls) to backends that terminate TLS themselves.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { server } from "../helpers/config.ts";
import {
  connect,
  rawServer,
  readAll,
  readUntil,
  startTcpProxy,
  tcpBackend,
  tcpConfig,
  tcpFrontend,
  writeAll,
} from "./helpers.ts";
import type { TcpRequest } from "../../src/config/model.ts";
import { loc } from "../helpers/config.ts";
import { selfSigned } from "../helpers/tls.ts";

/** A TLS server for `name` that answers "hello from NAME" once the handshake is done. */
function tlsServer(name: string, tls: { cert: string; key: string }) {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
  const conns = new Set<Deno.TlsConn>();
  const loop = (async () => {
    try {
      for await (const c of listener) {
        conns.add(c);
        (async () => {
          try {
            await c.handshake();
            await writeAll(c, `hello from ${name}\n`);
          } catch { /* client gone */ }
          try {
            c.close();
          } catch { /* closed */ }
          conns.delete(c);
        })();
      }
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
    },
  };
}

/** A backend that records the bytes of each connection until the client closes. */
function recorder() {
  const got: Uint8Array[] = [];
  const srv = rawServer(async (conn) => {
    const parts: number[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      parts.push(...buf.subarray(0, n));
    }
    got.push(new Uint8Array(parts));
    await writeAll(conn, "recorded\n");
  });
  return Object.assign(srv, { got });
}

const SNI_RULES: TcpRequest = {
  inspectDelay: 2000,
  content: [{
    action: "accept",
    polarity: "if",
    condition: "{ req_ssl_hello_type 1 }",
    loc,
  }],
};

function sniConfig(pa: number, pb: number, pOther: number, tr: TcpRequest = SNI_RULES) {
  return tcpConfig(
    tcpFrontend("other", {
      acls: [["is_a", "req_ssl_sni -i a.example.org"], [
        "is_b",
        "req.ssl_sni -m end .b.example.org",
      ]],
      rules: [["a", "if", "is_a"], ["b", "if", "is_b"]],
      tcpRequest: tr,
    }),
    [
      tcpBackend("a", [server("a", pa)]),
      tcpBackend("b", [server("b", pb)]),
      tcpBackend("other", [server("other", pOther)]),
    ],
  );
}

Deno.test("sni: a real ClientHello is routed by its server name; TLS ends at the backend", async () => {
  const certA = await selfSigned("a.example.org");
  const certB = await selfSigned("www.b.example.org");
  const a = tlsServer("a", certA);
  const b = tlsServer("b", certB);
  const other = recorder();
  const proxy = await startTcpProxy(sniConfig(a.port, b.port, other.port));
  try {
    for (
      const [host, ca, want] of [
        ["a.example.org", certA.cert, "hello from a\n"],
        ["www.b.example.org", certB.cert, "hello from b\n"],
        ["A.EXAMPLE.ORG", certA.cert, "hello from a\n"],
      ]
    ) {
      const raw = await connect(proxy.port);
      const tls = await Deno.startTls(raw, { hostname: host, caCerts: [ca] });
      assertEquals(await readAll(tls), want, host);
      tls.close();
    }
    // Not TLS at all: no hello type, no SNI, the rules accept, default backend.
    const c = await connect(proxy.port);
    await writeAll(c, "PING\r\n");
    await c.closeWrite();
    assertEquals(await readAll(c), "recorded\n");
    c.close();
    assertEquals(new TextDecoder().decode(other.got[0]), "PING\r\n");
    const logs = await proxy.waitLogs(4);
    assertEquals(logs.map((r) => r.backend).sort(), ["a", "a", "b", "other"]);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
    await other.close();
  }
});

Deno.test("sni: a ClientHello arriving in pieces is waited for, then forwarded byte for byte", async () => {
  // Capture one real ClientHello for b: a server reads one whole TLS record and hangs up.
  let probe = new Uint8Array(0);
  const cap = rawServer(async (conn) => {
    const buf = new Uint8Array(8192);
    let used = 0;
    while (used < 5 || used < 5 + ((buf[3] << 8) | buf[4])) {
      const n = await conn.read(buf.subarray(used));
      if (n === null) break;
      used += n;
    }
    probe = buf.slice(0, used);
  });
  const raw = await connect(cap.port);
  await Deno.startTls(raw, { hostname: "x.b.example.org" }).then((t) => t.handshake())
    .catch(() => {});
  await cap.close();
  assert(probe.length > 100, `captured ${probe.length} bytes`);

  const a = recorder();
  const b = recorder();
  const other = recorder();
  const proxy = await startTcpProxy(sniConfig(a.port, b.port, other.port));
  try {
    const c = await connect(proxy.port);
    await writeAll(c, probe.subarray(0, 20));
    await new Promise((r) => setTimeout(r, 150));
    await writeAll(c, probe.subarray(20));
    await c.closeWrite();
    assertEquals(await readAll(c), "recorded\n");
    c.close();
    assertEquals([a.got.length, b.got.length, other.got.length], [0, 1, 0]);
    assertEquals(b.got[0], probe);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
    await other.close();
  }
});

Deno.test("sni: `tcp-request content reject` closes what is not a TLS hello (PR--)", async () => {
  const other = recorder();
  const tr: TcpRequest = {
    inspectDelay: 1000,
    content: [
      ...SNI_RULES.content,
      { action: "reject", polarity: null, condition: "", loc },
    ],
  };
  const proxy = await startTcpProxy(sniConfig(other.port, other.port, other.port, tr));
  try {
    const c = await connect(proxy.port);
    await writeAll(c, "GET / HTTP/1.0\r\n\r\n");
    assertEquals(await readAll(c), "");
    c.close();
    const [rec] = await proxy.waitLogs(1);
    assertEquals([rec.server, rec.termination], [null, "PR--"]);
    assertEquals(other.accepted, 0);
  } finally {
    await proxy.stop();
    await other.close();
  }
});

Deno.test("sni: a silent client is decided when inspect-delay ends (default backend)", async () => {
  const other = recorder();
  const tr: TcpRequest = { ...SNI_RULES, inspectDelay: 200 };
  const proxy = await startTcpProxy(sniConfig(other.port, other.port, other.port, tr));
  try {
    const c = await connect(proxy.port);
    const t0 = Date.now();
    assertEquals(await readUntil(c, "x", 150), ""); // nothing connected yet
    await new Promise((r) => setTimeout(r, 300));
    assert(other.accepted === 1, `accepted ${other.accepted} after ${Date.now() - t0} ms`);
    c.close();
    await proxy.waitLogs(1);
  } finally {
    await proxy.stop();
    await other.close();
  }
});
