import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { inNetwork, parseIp, parseNetwork } from "../../src/acl/ip.ts";
import { splitWords } from "../../src/acl/words.ts";

Deno.test("parseIp: v4, v6, mapped, brackets, zones, garbage", () => {
  assertEquals(parseIp("1.2.3.4"), [0, 0, 0xffff, 0x01020304]);
  assertEquals(parseIp("::ffff:1.2.3.4"), [0, 0, 0xffff, 0x01020304]);
  assertEquals(parseIp("::1"), [0, 0, 0, 1]);
  assertEquals(parseIp("[2001:db8::1]"), [0x20010db8, 0, 0, 1]);
  assertEquals(parseIp("fe80::1%eth0"), [0xfe800000, 0, 0, 1]);
  assertEquals(parseIp("1:2:3:4:5:6:7:8"), [0x10002, 0x30004, 0x50006, 0x70008]);
  for (const bad of ["1.2.3", "1.2.3.256", "::1::", "1:2:3:4:5:6:7:8:9", "g::1", "", "a.b.c.d"]) {
    equal(parseIp(bad), null, bad);
  }
});

Deno.test("parseNetwork: prefix lengths, dotted masks, containment", () => {
  const net = parseNetwork("10.1.0.0/16")!;
  equal(inNetwork(parseIp("10.1.200.3")!, net), true);
  equal(inNetwork(parseIp("10.2.0.1")!, net), false);
  equal(inNetwork(parseIp("::ffff:10.1.0.9")!, net), true);
  equal(inNetwork(parseIp("10.1.2.3")!, parseNetwork("10.1.2.0/255.255.255.0")!), true);
  equal(inNetwork(parseIp("2001:db8:ff::1")!, parseNetwork("2001:db8::/32")!), true);
  equal(inNetwork(parseIp("0.0.0.1")!, parseNetwork("0.0.0.0/0")!), true);
  equal(parseNetwork("10.0.0.0/33"), null);
  equal(parseNetwork("10.0.0.0/255.0.255.0"), null);
  equal(parseNetwork("::/129"), null);
});

Deno.test("splitWords: spaces, quotes, escapes, offsets", () => {
  assertEquals(splitWords(`  hdr(x) "a b"  c\\ d 'e'f`), [
    { text: "hdr(x)", offset: 2 },
    { text: "a b", offset: 9 },
    { text: "c d", offset: 16 },
    { text: "ef", offset: 21 },
  ]);
});
