// Converters and map files: `use_backend %[req.hdr(host),lower,map(FILE,DEFAULT)]` and ACLs with
// `,lower`/`,map_*` chains route as HAProxy 2.6 does (the same requests through the real haproxy
// binary reach the same backends); map files are read at load with FILE:LINE errors.
import { testRuntime } from "../helpers/threads.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";

import { compileMap, readMapFile } from "../../src/sample/maps.ts";
import { closedPort, RawBackend, type RawHandler } from "../helpers/raw_backend.ts";
import { rawRequest } from "../helpers/raw_client.ts";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";

const named = (name: string): RawHandler => async (_req, c) => {
  await c.write(`HTTP/1.1 200 OK\r\ncontent-length: ${name.length}\r\n\r\n${name}`);
};

const HOSTS = [
  "www.example.com",
  "WWW.Example.COM",
  "example.com",
  "api.example.com",
  "api.example.com:8080",
  "shop.example.org",
  "example.org.evil.net",
  "static.cdn.net",
  "10",
  "25",
  "none.test",
];

/** Each map kind with a map file; the same file serves HAProxy and wtproxy. */
const CASES: { conv: string; map: string }[] = [
  { conv: "map", map: "www.example.com be_a\nexample.com be_b\n" },
  { conv: "map_str", map: "# comment\n\napi.example.com:8080   be_b  \nexample.com be_a\n" },
  { conv: "map_beg", map: "api. be_b\nwww be_a\nexample be_a\n" },
  { conv: "map_end", map: ".org be_b\n.com be_a\n" },
  { conv: "map_sub", map: "cdn be_b\nexample be_a\n" },
  { conv: "map_dom", map: "example.org be_b\nexample.com be_a\n" },
  { conv: "map_reg", map: "^api\\. be_b\n\\.com$ be_a\n^[0-9]+$ be_b\n" },
  { conv: "map_int", map: "10 be_a\n20:30 be_b\n" },
];

function cfg(port: number, conv: string, mapFile: string, backends: Record<string, string>) {
  return `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
    `frontend f\n  bind 127.0.0.1:${port}\n` +
    `  use_backend %[req.hdr(host),lower,${conv}(${mapFile},be_default)]\n` +
    `  default_backend be_fallback\n` +
    Object.entries(backends).map(([b, addr]) => `backend ${b}\n  server s ${addr}\n`).join("");
}

async function route(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const h of HOSTS) {
    const r = await rawRequest(port, `GET / HTTP/1.1\r\nhost: ${h}\r\n\r\n`);
    out.push(`${h} -> ${r.status === 200 ? r.text : r.status}`);
  }
  return out;
}

for (const c of CASES) {
  Deno.test({
    name: `use_backend %[req.hdr(host),lower,${c.conv}(FILE,default)] routes as HAProxy does`,
    ignore: !(await haproxyAvailable()),
    async fn() {
      const dir = await Deno.makeTempDir();
      const mapFile = `${dir}/hosts.map`;
      await Deno.writeTextFile(mapFile, c.map);
      const bes = ["be_a", "be_b", "be_default", "be_fallback"].map((n) =>
        [n, new RawBackend(named(n))] as const
      );
      const addrs = Object.fromEntries(bes.map(([n, b]) => [n, b.address]));
      const hport = closedPort();
      const hap = await startHaproxy(cfg(hport, c.conv, mapFile, addrs), hport);
      let rt = null;
      try {
        const theirs = await route(hport);
        const { config } = await loadConfigText(cfg(0, c.conv, mapFile, addrs), "maps.cfg");
        rt = await testRuntime(config, { logging: false, health: false, admin: false });
        const ours = await route(rt.listeners[0].port);
        assertEquals(ours, theirs);
      } finally {
        await rt?.stop(1000);
        await hap.stop();
        for (const [, b] of bes) await b.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("a dynamic name that is no backend goes to the default_backend; no Host: default too", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/m.map`, "a.test be_a\nb.test nosuch\n");
  const a = new RawBackend(named("be_a"));
  const d = new RawBackend(named("be_fallback"));
  const text = cfg(0, "map", `${dir}/m.map`, { be_a: a.address, be_fallback: d.address })
    .replace(",be_default)", ")");
  const { config } = await loadConfigText(text, "m.cfg");
  const rt = await testRuntime(config, { logging: false, health: false, admin: false });
  const port = rt.listeners[0].port;
  try {
    const get = async (host: string | null) =>
      (await rawRequest(port, `GET / HTTP/1.1\r\n${host ? `host: ${host}\r\n` : ""}\r\n`)).text;
    assertEquals(await get("A.test"), "be_a");
    assertEquals(await get("b.test"), "be_fallback"); // maps to an unknown backend
    assertEquals(await get("c.test"), "be_fallback"); // no line, no default: no sample
    assertEquals(await get(null), "be_fallback");
  } finally {
    await rt.stop(1000);
    await a.close();
    await d.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("converters in ACLs: lower/upper and map_* chains, default match of map_*_int is int", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/w.map`, "admin.test 10\nwww.test 1\n");
  const hit = new RawBackend(named("hit"));
  const miss = new RawBackend(named("miss"));
  const text =
    `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
    `frontend f\n  bind 127.0.0.1:0\n` +
    `  acl heavy hdr(host),lower,map_str_int(${dir}/w.map,0) gt 5\n` +
    `  acl shout path,upper -m beg /API\n` +
    `  use_backend hit if heavy || shout\n  default_backend miss\n` +
    `backend hit\n  server s ${hit.address}\nbackend miss\n  server s ${miss.address}\n`;
  const { config } = await loadConfigText(text, "acl.cfg");
  const rt = await testRuntime(config, { logging: false, health: false, admin: false });
  const port = rt.listeners[0].port;
  try {
    const get = async (host: string, path = "/") =>
      (await rawRequest(port, `GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`)).text;
    assertEquals(await get("ADMIN.test"), "hit");
    assertEquals(await get("www.test"), "miss");
    assertEquals(await get("other.test"), "miss");
    assertEquals(await get("x", "/api/v1"), "hit");
  } finally {
    await rt.stop(1000);
    await hit.close();
    await miss.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("map files and converters: errors at load name FILE:LINE:COL (and the map file's line)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.map`, "ok 1\n\n^(unclosed be_a\n");
  await Deno.writeTextFile(`${dir}/int.map`, "a 1\nb two\n");
  const text =
    `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n` +
    `frontend f\n  bind 127.0.0.1:0\n` +
    `  use_backend %[req.hdr(host),map_reg(${dir}/bad.map)]\n` +
    `  acl x hdr(host),map(${dir}/missing.map) -m found\n` +
    `  acl y hdr(host),map_int_int(${dir}/int.map) -m found\n` +
    `  acl z hdr(host),base64 -m found\n` +
    `  acl w hdr(host),lower(1) -m found\n` +
    `  use_backend b if x || y || z || w\n  default_backend b\nbackend b\n  server s 127.0.0.1:1\n`;
  let msg = "";
  try {
    await loadConfigText(text, "bad.cfg");
  } catch (err) {
    msg = (err as Error).message;
  }
  for (
    const want of [
      `bad.cfg:8:39: error: use_backend %[req.hdr(host),map_reg(${dir}/bad.map)]: map file ${dir}/bad.map:3: invalid regex '^(unclosed'`,
      `bad.cfg:9:23: error: acl 'x': cannot read map file '${dir}/missing.map': no such file`,
      `bad.cfg:10:31: error: acl 'y': map file ${dir}/int.map:2: value 'two' is not an integer`,
      `bad.cfg:11:19: error: acl 'z': converter 'base64' is not supported by wtproxy (supported: lower, upper, iif, map, map_str, map_beg, map_sub, map_end, map_dom, map_reg, map_int, map_ip)`,
      `bad.cfg:12:19: error: acl 'w': converter 'lower' takes 0 argument(s), got 1`,
    ]
  ) assert(msg.includes(want), `missing:\n${want}\nin:\n${msg}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("map lookups: str first line wins, dom delimiters, int ranges, ip longest prefix", () => {
  const entries = (text: string) => {
    const f = Deno.makeTempFileSync();
    Deno.writeTextFileSync(f, text);
    try {
      return readMapFile(f);
    } finally {
      Deno.removeSync(f);
    }
  };
  const str = compileMap(entries("k one\nk two\nsp   a  b  \n"), "str");
  assertEquals([str("k"), str("sp"), str("x")], ["one", "a  b", null]);
  const dom = compileMap(entries("example.com A\n"), "dom");
  assertEquals([dom("www.example.com"), dom("example.com:80"), dom("myexample.com")], [
    "A",
    "A",
    null,
  ]);
  const int = compileMap(entries("5 a\n10:20 b\n30: c\n"), "int");
  assertEquals([int("5"), int("15"), int("99"), int("7")], ["a", "b", "c", null]);
  const ip = compileMap(entries("10.0.0.0/8 wide\n10.1.0.0/16 narrow\n::1 v6\n"), "ip");
  assertEquals([ip("10.1.2.3"), ip("10.2.0.1"), ip("::1"), ip("192.168.0.1")], [
    "narrow",
    "wide",
    "v6",
    null,
  ]);
});
