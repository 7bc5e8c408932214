// Test helpers of the health room: hand-built configs, raw TCP backends the test starts and
// kills, and a black hole (a listener whose accept queue is full, so SYNs are dropped).

import type {
  BackendConfig,
  Config,
  HttpCheck,
  ProxySettings,
  ServerConfig,
  Timeouts,
} from "../../src/config/model.ts";
import { type StateEvent, StateStore } from "../../src/state.ts";

const loc = { file: "test", line: 1, col: 1 };

export function server(name: string, port: number, o: Partial<ServerConfig> = {}): ServerConfig {
  return {
    name,
    address: { host: "127.0.0.1", port, wildcard: false, family: "ipv4" },
    addressText: `127.0.0.1:${port}`,
    check: false,
    track: null,
    weight: 1,
    backup: false,
    inter: 2000,
    fastinter: 2000,
    downinter: 2000,
    rise: 2,
    fall: 3,
    maxconn: 0,
    disabled: false,
    prefix: null,
    loc,
    ...o,
  };
}

export function settings(
  o: { httpchk?: HttpCheck | null; timeouts?: Partial<Timeouts> } = {},
): ProxySettings {
  return {
    mode: "http",
    options: {
      httplog: false,
      dontlognull: false,
      httpServerClose: false,
      httpPretendKeepalive: false,
      httpKeepAlive: false,
      httpclose: false,
      forwardfor: null,
      originalto: null,
      redispatch: false,
      httpchk: o.httpchk ?? null,
    },
    retries: 3,
    maxconn: 0,
    timeouts: {
      connect: null,
      client: null,
      server: null,
      tunnel: null,
      httpRequest: null,
      httpKeepAlive: null,
      check: null,
      queue: null,
      ...o.timeouts,
    },
    log: [],
  };
}

export function backend(
  name: string,
  servers: ServerConfig[],
  s: ProxySettings = settings(),
): BackendConfig {
  return {
    name,
    balance: { algorithm: "roundrobin", param: null },
    servers,
    affinity: null,
    settings: s,
    loc,
  };
}

export function config(backends: BackendConfig[]): Config {
  return {
    file: "test",
    format: "yaml",
    global: { maxconn: 100, log: [], logTag: "wtproxy" },
    frontends: [],
    backends,
    admin: null,
    warnings: [],
  };
}

/** A synced store plus the list of events it emitted. */
export function storeFor(cfg: Config): { store: StateStore; events: StateEvent[] } {
  const store = new StateStore();
  store.sync(cfg);
  const events: StateEvent[] = [];
  store.on((e) => events.push(e));
  return { store, events };
}

/** Recipe-shaped config: bck1/srv1, bck2/srv2 checked; bck_lb tracks both. */
export function recipe(port1: number, port2: number, o: Partial<ServerConfig> = {}): Config {
  return config([
    backend("bck_lb", [
      server("srv1", port1, { track: { backend: "bck1", server: "srv1" } }),
      server("srv2", port2, { track: { backend: "bck2", server: "srv2" } }),
    ]),
    backend("bck1", [server("srv1", port1, { check: true, prefix: "wt1", ...o })]),
    backend("bck2", [server("srv2", port2, { check: true, prefix: "wt2", ...o })]),
  ]);
}

export interface RawServer {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Closes the listener and every accepted connection; awaits the handlers. */
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 (port 0 = ephemeral) running `handle` per connection. */
export function rawServer(
  handle: (conn: Deno.Conn) => Promise<void> = () => Promise.resolve(),
  port = 0,
): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  const srv: RawServer = {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: 0,
    async close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
      await Promise.allSettled(handlers);
    },
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        srv.accepted++;
        conns.add(conn);
        handlers.push(
          handle(conn).catch(() => {}).finally(() => {
            conns.delete(conn);
            try {
              conn.close();
            } catch { /* closed */ }
          }),
        );
      }
    } catch { /* listener closed */ }
  })();
  return srv;
}

/** Reads one request head (up to the blank line) and returns it. */
export async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(8192);
  let used = 0;
  while (used < buf.length) {
    const n = await conn.read(buf.subarray(used));
    if (n === null) break;
    used += n;
    if (new TextDecoder().decode(buf.subarray(0, used)).includes("\r\n\r\n")) break;
  }
  return new TextDecoder().decode(buf.subarray(0, used));
}

export async function writeText(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** An HTTP/1.x server answering every request with `status` and `body`, then closing. */
export function httpServer(status = 200, body = "ok", reason = "OK", port = 0): RawServer & {
  heads: string[];
} {
  const heads: string[] = [];
  const srv = rawServer(async (conn) => {
    heads.push(await readHead(conn));
    await writeText(
      conn,
      `HTTP/1.1 ${status} ${reason}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  }, port);
  return Object.assign(srv, { heads });
}

/** Waits until the silent server's connection handlers stay pending: answers nothing. */
export function silentServer(): RawServer {
  return rawServer(async (conn) => {
    const buf = new Uint8Array(1024);
    while ((await conn.read(buf)) !== null) { /* swallow until closed */ }
  });
}

/** A port nobody listens on (bound then released at once). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const BLACK_HOLE_PY = `
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fill.append(c)
print(port, flush=True)
sys.stdin.read()
`;

export interface BlackHole {
  port: number;
  close(): Promise<void>;
}

/**
 * A listener whose accept queue is full (SYNs dropped: connect hangs). Needs python3 (Deno
 * cannot set a listen backlog); .ci/run installs it, and a missing python3 fails the test.
 */
export async function blackHole(): Promise<BlackHole> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("python3", {
      args: ["-c", BLACK_HOLE_PY],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch (err) {
    throw new Error(`python3 is needed for the black-hole listener: ${err}`);
  }
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(text.trim());
  const close = async () => {
    await child.stdin.close().catch(() => {});
    await child.stdout.cancel().catch(() => {});
    await child.status;
  };
  if (!Number.isInteger(port) || port <= 0) {
    await close();
    throw new Error(`black-hole listener did not start: ${JSON.stringify(text)}`);
  }
  return { port, close };
}

/** Polls `cond` every 10 ms until true or `timeoutMs` passed; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}
