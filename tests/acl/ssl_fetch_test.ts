// ssl_fc_sni differs from HAProxy's (Deno does not report a connection's SNI): every condition
// that uses it gets a warning at the fetch word, so an operator porting a rule that relies on
// the real SNI (e.g. SNI/Host mismatch checks) is told at `wtproxy -c`.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { loadConfigTextSync } from "../../src/config/load.ts";

const CFG = (cond: string) =>
  `defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
frontend f
  bind 127.0.0.1:0
  use_backend b if ${cond}
  default_backend b
backend b
  server s 127.0.0.1:9
`;

function warnings(text: string): string[] {
  return loadConfigTextSync(text, "t.cfg").warnings.map((d) => `${d.line}:${d.col}: ${d.message}`);
}

Deno.test("ssl_fc_sni: a warning at the fetch word says it is the Host header's name", () => {
  const w = warnings(CFG("{ ssl_fc_sni -i example.com }"));
  assertEquals(w.length, 1);
  assertEquals(w[0].startsWith("8:22: "), true, w[0]);
  assertEquals(w[0].includes("ssl_fc_sni: Deno does not report a connection's SNI"), true, w[0]);
});

Deno.test("ssl_fc: no warning (it is exact)", () => {
  assertEquals(warnings(CFG("{ ssl_fc }")), []);
});
