// The program's own diagnostics go through LogTape to a stderr-like writer.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { diag, setupDiag, stopDiag } from "../../src/log/diag.ts";

function capture() {
  const out: string[] = [];
  const dec = new TextDecoder();
  return {
    out,
    writer: {
      write(p: Uint8Array) {
        out.push(dec.decode(p));
        return Promise.resolve(p.length);
      },
    },
  };
}

Deno.test("diag: text lines with level, category and message; level filter applies", async () => {
  const { out, writer } = capture();
  setupDiag({ level: "info", writer });
  diag("health").info("check of {server} failed: {reason}", {
    server: "bck1/srv1",
    reason: "Connection refused",
  });
  diag("proxy").debug("not shown");
  await stopDiag();
  const text = out.join("");
  assertEquals(text.split("\n").filter(Boolean).length, 1);
  assert(
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (?:Z|[+-]\d\d(?::\d\d)?) \[INF\] wtproxy·health: check of "bck1\/srv1" failed: "Connection refused"\n$/
      .test(text),
    text,
  );
});

Deno.test("diag: json lines", async () => {
  const { out, writer } = capture();
  setupDiag({ level: "debug", format: "json", writer });
  diag("ws").warn("relay closed {code}", { code: 1006 });
  await stopDiag();
  const j = JSON.parse(out.join(""));
  assertEquals([j.level, j.logger, j.properties.code], ["WARN", "wtproxy.ws", 1006]);
});
