import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { checkTimeouts } from "../../src/health/checker.ts";
import { HttpChecker, httpCheckRequest, statusMatches } from "../../src/health/http.ts";
import { TcpChecker } from "../../src/health/tcp.ts";
import type { HttpCheck } from "../../src/config/model.ts";
import { checkerConformance } from "./checker_conformance.ts";
import {
  backend,
  closedPort,
  httpServer,
  rawServer,
  readHead,
  server,
  settings,
  silentServer,
  writeText,
} from "./helpers.ts";

checkerConformance("TcpChecker", () => new TcpChecker());
checkerConformance("HttpChecker", () => new HttpChecker());
checkerConformance(
  "HttpChecker(GET /health HTTP/1.1, expect status 200)",
  () =>
    new HttpChecker({
      method: "GET",
      uri: "/health",
      version: "HTTP/1.1",
      expect: { kind: "status", value: "200" },
    }),
);

const hc = (o: Partial<HttpCheck> = {}): HttpCheck => ({
  method: "OPTIONS",
  uri: "/",
  version: "HTTP/1.0",
  expect: null,
  ...o,
});

Deno.test("http check: default request is HAProxy's `OPTIONS / HTTP/1.0` with no header", async () => {
  const srv = httpServer(200, "ok");
  try {
    const r = await new HttpChecker().check(server("s", srv.port), 2000);
    assertEquals(r.reason, "Layer7 check passed, code: 200");
    assertEquals(r.code, 200);
    assertEquals(srv.heads, ["OPTIONS / HTTP/1.0\r\n\r\n"]);
  } finally {
    await srv.close();
  }
});

Deno.test("http check: HTTP/1.1 adds connection: close; legacy headers in the version", () => {
  const text = (h: HttpCheck) => new TextDecoder().decode(httpCheckRequest(h));
  assertEquals(
    text(hc({ method: "GET", uri: "/health", version: "HTTP/1.1\\r\\nHost:\\ www.example.org" })),
    "GET /health HTTP/1.1\r\nhost: www.example.org\r\nconnection: close\r\n\r\n",
  );
  assertEquals(
    text(hc({ version: "HTTP/1.1\r\nHost: a" })),
    "OPTIONS / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
  );
});

Deno.test("http check: 3xx passes, 500 and 404 fail with code and reason phrase", async () => {
  for (
    const [status, reason, ok, text] of [
      [302, "Found", true, "Layer7 check passed, code: 302"],
      [
        500,
        "Internal Server Error",
        false,
        'Layer7 wrong status, code: 500, info: "Internal Server Error"',
      ],
      [404, "Not Found", false, 'Layer7 wrong status, code: 404, info: "Not Found"'],
    ] as const
  ) {
    const srv = httpServer(status, "", reason);
    try {
      const r = await new HttpChecker().check(server("s", srv.port), 2000);
      assertEquals(r.ok, ok);
      assertEquals(r.reason, text);
    } finally {
      await srv.close();
    }
  }
});

Deno.test("http check: http-check expect status / rstatus / string / rstring", async () => {
  const srv = httpServer(200, "hello alive", "OK");
  const cases: [HttpCheck["expect"], boolean, string][] = [
    [{ kind: "status", value: "200" }, true, "Layer7 check passed, code: 200"],
    [{ kind: "status", value: "300-399" }, false, 'Layer7 wrong status, code: 200, info: "OK"'],
    [{ kind: "rstatus", value: "^2" }, true, "Layer7 check passed, code: 200"],
    [{ kind: "rstatus", value: "^3" }, false, 'Layer7 wrong status, code: 200, info: "OK"'],
    [{ kind: "string", value: "alive" }, true, "Layer7 check passed, code: 200"],
    [
      { kind: "string", value: "nothere" },
      false,
      'Layer7 invalid response, info: "HTTP content check did not match"',
    ],
    [{ kind: "rstring", value: "^hel+o" }, true, "Layer7 check passed, code: 200"],
  ];
  try {
    for (const [expect, ok, text] of cases) {
      const r = await new HttpChecker(hc({ expect })).check(server("s", srv.port), 2000);
      assertEquals([r.ok, r.reason], [ok, text], JSON.stringify(expect));
    }
  } finally {
    await srv.close();
  }
});

Deno.test("http check: string expect reads a chunked body", async () => {
  const srv = rawServer(async (conn) => {
    await readHead(conn);
    await writeText(
      conn,
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n alive\r\n0\r\n\r\n",
    );
    // keep the connection open: the verdict must come from the last chunk, not from EOF
    await new Promise((r) => setTimeout(r, 300));
  });
  try {
    const r = await new HttpChecker(hc({ expect: { kind: "string", value: "hello alive" } }))
      .check(server("s", srv.port), 2000);
    assertEquals(r.reason, "Layer7 check passed, code: 200");
    const miss = await new HttpChecker(hc({ expect: { kind: "string", value: "zzz" } }))
      .check(server("s", srv.port), 2000);
    assertEquals(miss.reason, 'Layer7 invalid response, info: "HTTP content check did not match"');
    assert(miss.durationMs < 250, `verdict waited for EOF: ${miss.durationMs}`);
  } finally {
    await srv.close();
  }
});

Deno.test("http check: a server that never answers is a Layer7 timeout", async () => {
  const srv = silentServer();
  try {
    const t0 = performance.now();
    const r = await new HttpChecker().check(server("s", srv.port), 300);
    const took = performance.now() - t0;
    assertEquals(r.reason, "Layer7 timeout");
    assert(took >= 250 && took < 2000, `took ${took}`);
  } finally {
    await srv.close();
  }
});

Deno.test("http check: closed without answer or garbage is a Layer7 invalid response", async () => {
  const closer = rawServer(async (conn) => {
    await readHead(conn);
  });
  const garbage = rawServer(async (conn) => {
    await readHead(conn);
    await writeText(conn, "garbage\r\n\r\n");
  });
  try {
    for (const srv of [closer, garbage]) {
      const r = await new HttpChecker().check(server("s", srv.port), 2000);
      assertEquals(r.ok, false);
      assertMatch(r.reason, /^Layer(7 invalid response|4 connection problem)/);
    }
    const g = await new HttpChecker().check(server("s", garbage.port), 2000);
    assertEquals(g.reason, "Layer7 invalid response");
  } finally {
    await closer.close();
    await garbage.close();
  }
});

Deno.test("checkTimeouts: inter without `timeout check`, min(connect, inter) + check with it", () => {
  const s = server("s", 1, { inter: 2000 });
  assertEquals(checkTimeouts(backend("b", [s]), s), { timeoutMs: 2000 });
  assertEquals(
    checkTimeouts(backend("b", [s], settings({ timeouts: { check: 500, connect: 5000 } })), s),
    { timeoutMs: 500, connectTimeoutMs: 2000 },
  );
  assertEquals(
    checkTimeouts(backend("b", [s], settings({ timeouts: { check: 500, connect: 300 } })), s),
    { timeoutMs: 500, connectTimeoutMs: 300 },
  );
});

Deno.test("statusMatches: single, range, list", () => {
  assert(statusMatches("200", 200));
  assert(!statusMatches("200", 201));
  assert(statusMatches("200-399", 302));
  assert(statusMatches("200,301-302", 301));
  assert(!statusMatches("200,301-302", 303));
});

Deno.test("http-check send: headers and body as HAProxy 2.6 sends them (captured)", () => {
  const text = (h: HttpCheck) => new TextDecoder().decode(httpCheckRequest(h));
  assertEquals(
    text(hc({
      method: "GET",
      uri: "/health",
      version: "HTTP/1.1",
      headers: [["Host", "www.example.org"], ["X-Check", "yes"]],
    })),
    "GET /health HTTP/1.1\r\nhost: www.example.org\r\nx-check: yes\r\nconnection: close\r\n\r\n",
  );
  assertEquals(
    text(hc({ method: "POST", uri: "/q", body: "{a:1}" })),
    "POST /q HTTP/1.0\r\ncontent-length: 5\r\n\r\n{a:1}",
  );
});

Deno.test("http-check expect ! status: passes when the status is not the one named", async () => {
  const srv = httpServer(503, "no", "Service Unavailable");
  try {
    const neg = new HttpChecker(hc({ expect: { kind: "status", value: "200", negate: true } }));
    assertEquals((await neg.check(server("s", srv.port), 2000)).ok, true);
    const pos = new HttpChecker(hc({ expect: { kind: "status", value: "200" } }));
    assertEquals((await pos.check(server("s", srv.port), 2000)).ok, false);
  } finally {
    await srv.close();
  }
});

Deno.test("check port N / addr A: the check goes there, not to the server's address", async () => {
  const srv = httpServer(200, "ok");
  try {
    const viaPort = server("s", closedPort(), { checkPort: srv.port });
    const r = await new HttpChecker().check(viaPort, 2000);
    assertEquals(r.reason, "Layer7 check passed, code: 200");
    const viaAddr = server("s", srv.port, {
      address: { host: "192.0.2.1", port: 5432, wildcard: false, family: "ipv4" },
      checkAddr: "127.0.0.1",
      checkPort: srv.port,
    });
    assert((await new TcpChecker().check(viaAddr, 2000)).ok);
  } finally {
    await srv.close();
  }
});
