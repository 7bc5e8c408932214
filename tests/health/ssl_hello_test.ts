// `option ssl-hello-chk` against real sockets: HAProxy's SSLv3 hello, a record back passes.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { sslHello, sslHelloChecker } from "../../src/health/ssl_hello.ts";
import { checkerConformance } from "./checker_conformance.ts";
import { rawServer, server, silentServer } from "./helpers.ts";
import { bytes, replyWith } from "./proto.ts";
import { selfSigned } from "../helpers/tls.ts";

const HANDSHAKE = bytes([0x16, 0x03, 0x00, 0x00, 0x02, 0x02, 0x00]);

checkerConformance("ssl-hello-chk", sslHelloChecker, replyWith(HANDSHAKE));

Deno.test("ssl-hello-chk: HAProxy's hello bytes (time at offset 11)", () => {
  const h = sslHello(0x6b103ac4);
  assertEquals(h.length, 126);
  assertEquals([...h.subarray(0, 15)], [
    0x16,
    0x03,
    0x00,
    0x00,
    0x79,
    0x01,
    0x00,
    0x00,
    0x75,
    0x03,
    0x00,
    0x6b,
    0x10,
    0x3a,
    0xc4,
  ]);
  assertEquals(
    new TextDecoder().decode(h.subarray(15, 43)),
    "HAPROXYSSLCHK\nHAPROXYSSLCHK\n",
  );
  assertEquals([...h.subarray(43, 48)], [0x00, 0x00, 0x4e, 0x00, 0x01]);
  assertEquals([...h.subarray(-6)], [0x00, 0x39, 0x00, 0x3a, 0x01, 0x00]);
});

Deno.test("ssl-hello-chk: Layer6 words; an alert passes too; a real TLS server passes", async () => {
  const alert = rawServer(replyWith(bytes([0x15, 0x03, 0x00, 0x00, 0x02, 0x02, 0x28])));
  const http = rawServer(replyWith("HTTP/1.0 400 Bad\r\n\r\n"));
  const silent = silentServer();
  try {
    assertEquals(
      (await sslHelloChecker().check(server("s", alert.port), 2000)).reason,
      "Layer6 check passed",
    );
    assertEquals(
      (await sslHelloChecker().check(server("s", http.port), 2000)).reason,
      "Layer6 invalid response",
    );
    assertEquals(
      (await sslHelloChecker().check(server("s", silent.port), 300)).reason,
      "Layer6 timeout",
    );
  } finally {
    await alert.close();
    await http.close();
    await silent.close();
  }
  // Deno's rustls refuses SSLv3 with an alert record: still "speaks SSL".
  const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...(await selfSigned("t")) });
  const loop = (async () => {
    for await (const c of l) {
      c.handshake().catch(() => {}).finally(() => {
        try {
          c.close();
        } catch { /* closed */ }
      });
    }
  })().catch(() => {});
  try {
    const r = await sslHelloChecker().check(server("s", (l.addr as Deno.NetAddr).port), 2000);
    assertEquals(r.reason, "Layer6 check passed");
  } finally {
    l.close();
    await loop;
  }
});
