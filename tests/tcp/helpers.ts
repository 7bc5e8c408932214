// Helpers of the tcp room's tests: TCP servers the tests start (echo, named greeter), a client
// that reads until EOF, and a runtime on a hand-built `mode tcp` configuration.

import type {
  BackendConfig,
  Config,
  FrontendConfig,
  ServerConfig,
  TcpRequest,
} from "../../src/config/model.ts";
import type { RuntimeOptions } from "../../src/runtime.ts";
import { startProxyFrom, type TestProxy } from "../helpers/proxy.ts";
import {
  backend,
  bind,
  config,
  frontend,
  settings,
  type SettingsPatch,
} from "../helpers/config.ts";
import { type RawServer, rawServer } from "../health/helpers.ts";

export { type RawServer, rawServer } from "../health/helpers.ts";
export { closedPort, waitFor } from "../health/helpers.ts";

/** Settings of a `mode tcp` proxy: timeouts connect 1 s, client and server 5 s. */
export function tcpSettings(o: SettingsPatch = {}) {
  return settings({
    mode: "tcp",
    timeouts: { connect: 1000, client: 5000, server: 5000, ...o.timeouts },
    options: { httpServerClose: false, httpPretendKeepalive: false, ...o.options },
    retries: o.retries,
    maxconn: o.maxconn,
  });
}

export function tcpBackend(
  name: string,
  servers: ServerConfig[],
  extra: Partial<BackendConfig> = {},
  s: SettingsPatch = {},
): BackendConfig {
  return backend(name, servers, { settings: tcpSettings(s), ...extra });
}

export function tcpFrontend(
  defaultBackend: string | null,
  o: {
    acls?: [string, string][];
    rules?: [string, "if" | "unless", string][];
    tcpRequest?: TcpRequest;
    settings?: SettingsPatch;
  } = {},
): FrontendConfig {
  return frontend(o.acls ?? [], o.rules ?? [], defaultBackend, {
    binds: [bind(0)],
    settings: tcpSettings(o.settings),
    ...(o.tcpRequest ? { tcpRequest: o.tcpRequest } : {}),
  });
}

export type TcpProxy = TestProxy;

/** A runtime on `cfg` with access records captured (no health checks unless opts say so). */
export function startTcpProxy(cfg: Config, opts: RuntimeOptions = {}): Promise<TcpProxy> {
  return startProxyFrom(cfg, opts);
}

export function tcpConfig(fe: FrontendConfig, backends: BackendConfig[]): Config {
  return config([fe], backends);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function writeAll(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  const b = typeof data === "string" ? enc.encode(data) : data;
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

/** Reads until EOF (or an error, or `ms`): everything received, as text. */
export async function readAll(conn: Deno.Conn, ms = 5000): Promise<string> {
  const buf = new Uint8Array(65536);
  let out = "";
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n));
    }
  } catch { /* reset or closed by the timer */ }
  clearTimeout(timer);
  return out;
}

/** Reads until `text` has arrived (bounded; a read cut by the bound is abandoned, so do not
 * read the same connection again after a timeout). */
export async function readUntil(conn: Deno.Conn, text: string, ms = 5000): Promise<string> {
  const buf = new Uint8Array(65536);
  let out = "";
  const end = Date.now() + ms;
  while (!out.includes(text) && Date.now() < end) {
    const r = await Promise.race([
      conn.read(buf),
      new Promise<"t">((res) => setTimeout(() => res("t"), Math.max(1, end - Date.now()))),
    ]);
    if (r === "t" || r === null) break;
    out += dec.decode(buf.subarray(0, r));
  }
  return out;
}

/**
 * An echo server that also answers each client's FIN: it echoes every chunk, and once the
 * client shut its write side it writes `bye NAME` and closes (proves half-close both ways).
 */
export function echoServer(name = "echo"): RawServer {
  return rawServer(async (conn) => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
    await writeAll(conn, `bye ${name}`);
  });
}

/** A server that says its name first (like MySQL's greeting), then echoes until EOF. */
export function greeter(name: string): RawServer {
  return rawServer(async (conn) => {
    await writeAll(conn, `${name}\n`);
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
  });
}

export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}
