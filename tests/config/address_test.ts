import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { AddressError, checkCidr, parseAddress } from "../../src/config/address.ts";

Deno.test("addresses: the HAProxy forms", () => {
  const cases: [string, object][] = [
    ["127.0.0.1:9090", { host: "127.0.0.1", port: 9090, wildcard: false, family: "ipv4" }],
    ["0.0.0.0:8080", { host: "0.0.0.0", port: 8080, wildcard: true, family: "any4" }],
    ["*:8080", { host: "0.0.0.0", port: 8080, wildcard: true, family: "any4" }],
    [":8080", { host: "0.0.0.0", port: 8080, wildcard: true, family: "any4" }],
    [":::8080", { host: "::", port: 8080, wildcard: true, family: "any6" }],
    ["[::]:8080", { host: "::", port: 8080, wildcard: true, family: "any6" }],
    ["[::1]:8080", { host: "::1", port: 8080, wildcard: false, family: "ipv6" }],
    ["::1:8080", { host: "::1", port: 8080, wildcard: false, family: "ipv6" }],
    ["wt1.example.org:80", { host: "wt1.example.org", port: 80, wildcard: false, family: "name" }],
    [" localhost:65535 ", { host: "localhost", port: 65535, wildcard: false, family: "name" }],
  ];
  for (const [text, want] of cases) assertEquals(parseAddress(text), want, text);
});

Deno.test("addresses: default port and port 0 only when asked", () => {
  assertEquals(parseAddress("10.0.0.1", { defaultPort: 514 }).port, 514);
  assertEquals(parseAddress("127.0.0.1:0", { allowPortZero: true }).port, 0);
});

Deno.test("addresses: precise errors", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", 'invalid address "127.0.0.1": missing port'],
    ["127.0.0.1:", 'invalid address "127.0.0.1:": missing port after ":"'],
    ["127.0.0.1:0", 'invalid port 0 in "127.0.0.1:0": expected a number from 1 to 65535'],
    ["127.0.0.1:65536", "invalid port 65536"],
    ["127.0.0.1:http", 'invalid port "http"'],
    ["256.1.1.1:80", '"256.1.1.1" is not a valid IPv4 address'],
    ["[::1:80", 'missing "]" after the IPv6 address'],
    ["[::1]80", 'expected ":port" after "]"'],
    ["[zz::1]:80", '"zz::1" is not an IPv6 address'],
    ["1:2:3:4:5:6:7:8:9:80", "is not a valid IPv6 address"],
    ["bad host:80", "it contains a space"],
    ["a..b:80", '"a..b" is not a valid host name'],
    ["", "empty address"],
  ];
  for (const [text, msg] of cases) {
    throws(() => parseAddress(text), (err: Error) => {
      assertEquals(err instanceof AddressError, true);
      assertEquals(err.message.includes(msg), true, `${text}: ${err.message}`);
      return true;
    });
  }
});

Deno.test("addresses: CIDR check", () => {
  assertEquals(checkCidr("10.0.0.0/8"), null);
  assertEquals(checkCidr("::1/128"), null);
  assertEquals(checkCidr("127.0.0.1"), null);
  assertEquals(
    checkCidr("10.0.0.0/33"),
    'invalid network "10.0.0.0/33": prefix length must be 0 to 32',
  );
  assertEquals(checkCidr("nope/8"), 'invalid network "nope/8": "nope" is not an IP address');
});
