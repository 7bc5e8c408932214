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
import {
  backend as sharedBackend,
  bareSettings,
  config as sharedConfig,
  recipeConfig,
} from "../helpers/config.ts";

export { server } from "../helpers/config.ts";

/** Built-in settings (no `defaults` section) with the check-related bits a test sets. */
export function settings(
  o: { httpchk?: HttpCheck | null; timeouts?: Partial<Timeouts> } = {},
): ProxySettings {
  return bareSettings({ options: { httpchk: o.httpchk ?? null }, timeouts: o.timeouts });
}

export function backend(
  name: string,
  servers: ServerConfig[],
  s: ProxySettings = settings(),
): BackendConfig {
  return sharedBackend(name, servers, { settings: s });
}

/** Backends only: the health room needs no frontend. */
export function config(backends: BackendConfig[]): Config {
  return sharedConfig([], backends);
}

/** A synced store plus the list of events it emitted. */
export function storeFor(cfg: Config): { store: StateStore; events: StateEvent[] } {
  const store = new StateStore();
  store.sync(cfg);
  const events: StateEvent[] = [];
  store.on((e) => events.push(e));
  return { store, events };
}

/** Recipe-shaped config: bck1/srv1, bck2/srv2 checked (plus `o`); bck_lb tracks both. */
export function recipe(port1: number, port2: number, o: Partial<ServerConfig> = {}): Config {
  return config(recipeConfig(port1, port2, o).backends.map((b) => backend(b.name, b.servers)));
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
