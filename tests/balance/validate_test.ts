import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { validateBalance } from "../../src/balance/validate.ts";
import { backend, server } from "../helpers/config.ts";

const msgs = (b: ReturnType<typeof backend>) =>
  validateBalance(b).map((d) => `${d.severity}: ${d.message}`);

Deno.test("validateBalance: algorithms and parameters", () => {
  assertEquals(msgs(backend("b", [server("s", 1)])), []);
  assertEquals(
    msgs(backend("b", [server("s", 1)], { balance: { algorithm: "fastest", param: null } }))[0]
      .startsWith("error: backend b: unknown balance algorithm 'fastest' (known: roundrobin"),
    true,
  );
  assertEquals(
    msgs(backend("b", [server("s", 1)], { balance: { algorithm: "url_param", param: null } })),
    ["error: backend b: 'balance url_param' needs a parameter name"],
  );
  assertEquals(
    msgs(backend("b", [server("s", 1)], { balance: { algorithm: "url_param", param: "user" } })),
    [],
  );
  assertEquals(
    msgs(backend("b", [server("s", 1)], { balance: { algorithm: "random(x)", param: null } })),
    ["error: backend b: random draws must be a positive integer"],
  );
});

Deno.test("validateBalance: prefix problems are warnings", () => {
  const aff = { affinity: { urlParam: "wtd" } };
  assertEquals(
    msgs(backend("b", [server("a", 1, { prefix: "wt1" }), server("c", 2, { prefix: "wt2" })], aff)),
    [],
  );
  assertEquals(
    msgs(backend("b", [server("a", 1, { prefix: "wt1" }), server("c", 2, { prefix: "wt1" })], aff)),
    ["warning: backend b: servers a and c have the same prefix 'wt1'"],
  );
  assertEquals(
    msgs(
      backend("b", [server("a", 1, { prefix: "wt1" }), server("c", 2, { prefix: "wt12" })], aff),
    ),
    [
      "warning: backend b: prefix 'wt12' of c starts with prefix 'wt1' of a: session ids are ambiguous (a recipe with url_sub wtd=wt1 sends both to a)",
    ],
  );
  assertEquals(
    msgs(backend("b", [server("a", 1, { prefix: "wt/1" })], aff)),
    [
      "warning: backend b: server a: prefix 'wt/1' has characters that are percent-encoded in URLs; use letters and digits",
    ],
  );
  assertEquals(
    msgs(backend("b", [server("a", 1)], aff)),
    ["warning: backend b: affinity on 'wtd' but no server has a prefix: every request is balanced"],
  );
});

Deno.test("validateBalance: `balance sessions` needs the Wt session table", () => {
  const b = backend("b", [server("s", 1)], { balance: { algorithm: "sessions", param: null } });
  assertEquals(validateBalance(b, { wtSessions: true }), []);
  assertEquals(validateBalance(b, { wtSessions: false }).map((d) => d.message), [
    "backend b: 'balance sessions' counts live Wt sessions: set global.wt-sessions " +
    "(e.g. { param: wtd, timeout: 600s })",
  ]);
});
