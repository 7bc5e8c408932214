import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { applyAdminFlag } from "../../src/admin/cli.ts";
import { ConfigError } from "../../src/config/model.ts";
import { adminConfig, recipeConfig } from "./fixture.ts";

Deno.test("--admin ADDR:PORT turns the admin listener on, loopback only without a token", () => {
  const cfg = recipeConfig();
  const on = applyAdminFlag("127.0.0.1:9100", cfg);
  assertEquals(on.admin?.bind.host, "127.0.0.1");
  assertEquals(on.admin?.bind.port, 9100);
  assertEquals(on.admin?.token, null);
  assertEquals(cfg.admin, null, "the input config is not changed");
  throws(() => applyAdminFlag("0.0.0.0:9100", cfg), (e: unknown) => {
    assert(e instanceof ConfigError);
    assert(e.message.includes("--admin: 0.0.0.0:9100 is reachable from other machines"));
    return true;
  });
  throws(() => applyAdminFlag("127.0.0.1:nope", cfg), ConfigError);
  throws(() => applyAdminFlag(true, cfg), ConfigError);
  // the file's token is kept when the flag moves the listener
  const withToken = { ...cfg, admin: adminConfig("127.0.0.1", "tok", 9000) };
  const moved = applyAdminFlag("0.0.0.0:9200", withToken);
  assertEquals(moved.admin?.token, "tok");
  assertEquals(moved.admin?.bind.wildcard, true);
});

Deno.test("wtproxy -c refuses --admin on a public address without a token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/wt.yaml`;
    await Deno.writeTextFile(
      file,
      [
        "defaults:",
        "  timeouts: { connect: 5s, client: 50s, server: 50s }",
        "frontends:",
        "  web:",
        "    bind: 127.0.0.1:0",
        "    default_backend: app",
        "backends:",
        "  app:",
        "    servers:",
        "      srv1: { address: 127.0.0.1:1 }",
        "",
      ].join("\n"),
    );
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "src/main.ts", "-c", "-f", file, ...args],
        stdout: "piped",
        stderr: "piped",
        env: { WTPROXY_ADMIN_TOKEN: "" },
      }).output();
      return { code: out.code, err: new TextDecoder().decode(out.stderr) };
    };
    const ok = await run("--admin", "127.0.0.1:9100");
    assertEquals(ok.code, 0, ok.err);
    const bad = await run("--admin", "0.0.0.0:9100");
    assertEquals(bad.code, 1);
    assert(
      bad.err.startsWith("wtproxy: error: --admin: 0.0.0.0:9100 is reachable from other machines"),
      bad.err,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
