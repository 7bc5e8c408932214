// The listener of a `mode tcp` frontend: accepts, takes a maxconn slot (the same gates as the
// HTTP listener: while none is free nothing more is accepted), and runs one session per
// connection. It has the HTTP server's shape so the runtime keeps, drains and kills both alike.

import type { HttpServer } from "../downstream/server.ts";
import { admit, type ListenerHandle, type RuntimeCore } from "../proxy/frontend.ts";
import { tcpSession } from "./session.ts";
import { Acceptor } from "../net/accept.ts";

class TcpServer extends Acceptor implements HttpServer {
  readonly conns = new Set<Deno.TcpConn>();

  constructor(
    listener: Deno.TcpListener,
    private readonly core: RuntimeCore,
    private readonly frontend: () => string,
  ) {
    super(listener);
  }

  get connections(): number {
    return this.conns.size;
  }

  get bufferBytes(): number {
    return 0;
  }

  protected admit(): (() => void) | Promise<() => void> {
    return admit(this.core, this.frontend());
  }

  protected serve(conn: Deno.Conn, release: () => void): void {
    const c = conn as Deno.TcpConn; // a TCP listener's
    this.conns.add(c);
    tcpSession(this.core, this.frontend(), c, () => {
      this.conns.delete(c);
      release();
    });
  }

  /** HAProxy's soft stop: no new session, the open ones run to their end (or the deadline). */
  async drain(graceMs: number): Promise<boolean> {
    this.close();
    this.draining = true;
    const deadline = performance.now() + graceMs;
    while (this.conns.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.conns.size === 0;
  }

  kill(): void {
    this.stopAccepting();
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* gone */ }
    }
  }
}

/** Starts the listener of TCP frontend `frontend` on hostname:port. */
export function startTcpListener(
  core: RuntimeCore,
  frontend: string,
  bindKey: string,
  id: string,
  hostname: string,
  port: number,
  backlog: number,
  reusePort = false,
): ListenerHandle {
  const listener = Deno.listen({
    hostname,
    port,
    tcpBacklog: backlog > 0 ? backlog : undefined,
    ...(reusePort ? { reusePort: true } : {}),
  } as Deno.TcpListenOptions);
  let h: ListenerHandle | null = null;
  const server = new TcpServer(listener, core, () => h?.frontend ?? frontend);
  h = { frontend, bindKey, id, hostname, port: server.addr.port, server };
  server.acceptLoop();
  return h;
}
