// Nameservers that misbehave do not hurt: garbage answers and silence are a timeout (after
// `resolve_retries` attempts of `timeout retry`), a huge answer is read over TCP and only its
// first records are looked at, and a good nameserver next to a bad one still wins.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { dnsResolver, MAX_RECORDS, parseResolvConf } from "../../src/discovery/resolver.ts";
import { Dnsmasq } from "./dnsmasq.ts";

/** A UDP "nameserver" that answers every query with random bytes (or nothing). */
function badNameserver(mode: "garbage" | "silent") {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  let queries = 0;
  const done = (async () => {
    try {
      for await (const [, addr] of sock) {
        queries++;
        if (mode === "garbage") await sock.send(crypto.getRandomValues(new Uint8Array(700)), addr);
      }
    } catch { /* closed */ }
  })();
  return {
    port: (sock.addr as Deno.NetAddr).port,
    get queries() {
      return queries;
    },
    async close() {
      sock.close();
      await done;
    },
  };
}

const CFG = { name: "dns", resolveRetries: 2, timeoutRetry: 200 };

Deno.test("garbage and silent nameservers: a timeout after the retries, nothing else", async () => {
  for (const mode of ["garbage", "silent"] as const) {
    const ns = badNameserver(mode);
    const stop = new AbortController();
    const r = dnsResolver(CFG, [{ name: "bad", host: "127.0.0.1", port: ns.port }], stop.signal);
    const t = performance.now();
    const a = await r.addresses("wt.test", "ipv4");
    assertEquals([a.status, a.records], ["timeout", []]);
    assert(performance.now() - t < 3000);
    const s = await r.srv("_wt._tcp.wt.test");
    assertEquals([s.status, s.records], ["timeout", []]);
    assert(ns.queries >= 2, `${mode}: ${ns.queries} queries`);
    await ns.close();
  }
});

Deno.test("a huge answer and a bad nameserver beside a good one", async () => {
  const big: string[] = [];
  for (let i = 0; i < 600; i++) big.push(`10.1.${i >> 8}.${i & 255}`);
  const dns = await Dnsmasq.start({ a: { "big.wt.test": big, "wt-0.wt.test": ["127.0.0.2"] } });
  const bad = badNameserver("garbage");
  const stop = new AbortController();
  try {
    const r = dnsResolver(CFG, [
      { name: "bad", host: "127.0.0.1", port: bad.port },
      { name: "good", host: "127.0.0.1", port: dns.port },
    ], stop.signal);
    const a = await r.addresses("big.wt.test", "ipv4");
    assertEquals(a.status, "valid");
    assertEquals(a.records.length, MAX_RECORDS);
    assertEquals(a.by, "dns/good");
    const b = await r.addresses("wt-0.wt.test", "ipv6"); // no AAAA: the A record
    assertEquals([b.status, b.records], ["valid", ["127.0.0.2"]]);
    const nx = await r.addresses("none.wt.test", "ipv4");
    assertEquals(nx.status, "nx");
  } finally {
    await bad.close();
    await dns.stop();
  }
});

Deno.test("parse-resolv-conf reads the nameserver lines", () => {
  assertEquals(
    parseResolvConf(
      "# c\nsearch x\nnameserver 10.96.0.10\nnameserver fe80::1%eth0\nnameserver bad\n",
    ),
    [
      { name: "resolvconf1", host: "10.96.0.10", port: 53 },
      { name: "resolvconf2", host: "fe80::1", port: 53 },
    ],
  );
});
