// The Wt-like demo server over real sockets (127.0.0.1, ephemeral ports).
import { equal, match, notEqual, ok as assert } from "node:assert/strict";
import { generateSessionId, startWtServer } from "../../src/demo/wtserver.ts";

const ID = /^wt1[A-Za-z0-9]{16}$/;

async function get(url: string, init?: RequestInit) {
  const r = await fetch(url, init);
  return { status: r.status, headers: r.headers, body: await r.text() };
}

const jsupdate = (base: string, wtd: string) =>
  get(`${base}/?wtd=${wtd}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "request=jsupdate&signal=keepAlive",
  });

Deno.test("session ids: prefix + 16 of [A-Za-z0-9]", () => {
  for (let i = 0; i < 200; i++) match(generateSessionId("wt1"), ID);
});

Deno.test("demo server: sessions, links carrying wtd, and what Wt does with unknown ids", async () => {
  const srv = await startWtServer({ prefix: "wt1", port: 0 });
  const base = `http://127.0.0.1:${srv.port}`;
  try {
    assert(srv.port > 0);
    // A page without wtd starts a session; links, script and AJAX URLs carry it.
    const first = await get(`${base}/`);
    equal(first.status, 200);
    equal(first.headers.get("x-wt-server"), "wt1");
    const id = first.headers.get("x-wt-session")!;
    match(id, ID);
    assert(first.body.includes(`href="?wtd=${id}"`), "link carries wtd");
    assert(
      first.body.includes(`<script src="?wtd=${id}&amp;request=script">`),
      "script carries wtd",
    );
    assert(first.body.includes("Served by"), "page shows the server");
    assert(first.body.includes(id), "page shows the session");
    equal(srv.sessions.size, 1);

    const script = await get(`${base}/?wtd=${id}&request=script`);
    assert(script.body.includes(`fetch("?wtd=${id}"`), "AJAX requests carry wtd");

    // The same session again: same id; AJAX updates count up.
    const again = await get(`${base}/?wtd=${id}`);
    equal(again.headers.get("x-wt-session"), id);
    match((await jsupdate(base, id)).body, /^wtUpdate\(.*"updates":1\}\);$/);
    match((await jsupdate(base, id)).body, /"updates":2/);
    equal(srv.sessions.get(id)!.updates, 2);

    // Misrouted: an id this server never issued.
    const stranger = "wt2AAAAAAAAAAAAAAAA";
    const update = await jsupdate(base, stranger);
    match(update.body, /^wtReload\(/); // "signal from dead session, sending reload"
    equal(update.headers.get("x-wt-session"), "-");
    const pageGet = await get(`${base}/?wtd=${stranger}`);
    const fresh = pageGet.headers.get("x-wt-session")!;
    match(fresh, ID);
    notEqual(fresh, id);
    assert(pageGet.body.includes("does not know"), "the page says the session was unknown");
    const resource = await get(`${base}/?wtd=${stranger}&request=resource&resource=x`);
    equal(resource.body, "<!DOCTYPE html>");
    equal(srv.sessions.size, 2);
    equal((await get(`${base}/__demo/status`)).status, 404); // no controls given
  } finally {
    await srv.stop();
  }
  // Stopped: the port refuses connections (what the proxy's health check will see).
  await fetch(base).then(
    () => assert(false, "still answering after stop()"),
    () => {},
  );
});

/** Sends a raw upgrade for `wtd` and returns the answer's head and the bytes after it. */
async function rawUpgrade(port: number, wtd: string, extra: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    `GET /?wtd=${wtd}&request=ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n` +
      `Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `Sec-WebSocket-Version: 13\r\n${extra}\r\n`,
  ));
  let got = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  for (let i = 0; i < 50; i++) {
    const n = await conn.read(buf);
    if (n === null) break;
    const j = new Uint8Array(got.length + n);
    j.set(got);
    j.set(buf.subarray(0, n), got.length);
    got = j;
    const text = new TextDecoder("latin1").decode(got);
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1 && got.length > end + 4) {
      conn.close();
      return { head: text.slice(0, end), rest: got.slice(end + 4) };
    }
  }
  conn.close();
  throw new Error("no answer past the head");
}

Deno.test("demo server: the push socket gzips its stream when the upgrade asks, as Wt does", async () => {
  const srv = await startWtServer({ prefix: "wt1", port: 0 });
  try {
    const id = (await fetch(`http://127.0.0.1:${srv.port}/`).then(async (r) => {
      await r.body?.cancel();
      return r.headers.get("x-wt-session");
    }))!;
    // Plain: a text frame (0x81) carrying the first tick.
    const plain = await rawUpgrade(srv.port, id, "");
    match(plain.head, /^HTTP\/1\.1 101 /);
    assert(!/content-encoding/i.test(plain.head), plain.head);
    equal(plain.rest[0], 0x81);
    match(new TextDecoder().decode(plain.rest.subarray(2)), /"tick":0/);
    // Accept-Encoding: gzip -> Content-Encoding: gzip, and the bytes are a gzip stream.
    const gz = await rawUpgrade(srv.port, id, "Accept-Encoding: gzip, deflate, br, zstd\r\n");
    match(gz.head, /\r\nContent-Encoding: gzip/);
    notEqual(gz.rest[0], 0x81);
    equal(gz.rest[0], 0x1f);
    equal(gz.rest[1], 0x8b);
    // An unknown session is refused, as Wt refuses it.
    match((await rawUpgrade(srv.port, "wt1nope", "")).head, /^HTTP\/1\.1 403 /);
  } finally {
    await srv.stop();
  }
});
