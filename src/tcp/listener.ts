// The listener of a `mode tcp` frontend: accepts, takes a maxconn slot (the same gates as the
// HTTP listener: while none is free nothing more is accepted), and runs one session per
// connection. It has the HTTP server's shape so the runtime keeps, drains and kills both alike.

import type { HttpServer } from "../downstream/server.ts";
import { admit, type ListenerHandle, type RuntimeCore } from "../proxy/frontend.ts";
import { tcpSession } from "./session.ts";

class TcpServer implements HttpServer {
  readonly addr: Deno.NetAddr;
  readonly conns = new Set<Deno.TcpConn>();
  private admitting: Deno.TcpConn | null = null;
  private closed = false;
  private draining = false;

  constructor(
    private readonly listener: Deno.TcpListener,
    private readonly core: RuntimeCore,
    private readonly frontend: () => string,
  ) {
    this.addr = listener.addr;
  }

  get connections(): number {
    return this.conns.size;
  }

  get bufferBytes(): number {
    return 0;
  }

  async acceptLoop(): Promise<void> {
    for (;;) {
      let c: Deno.TcpConn;
      try {
        c = await this.listener.accept();
      } catch (err) {
        if (this.closed || err instanceof Deno.errors.BadResource) return;
        if (err instanceof Deno.errors.Interrupted) return;
        console.error(`wtproxy: accept on ${this.addr.hostname}:${this.addr.port}: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      let release: () => void;
      const a = admit(this.core, this.frontend());
      if (a instanceof Promise) {
        this.admitting = c;
        release = await a;
        this.admitting = null;
      } else release = a;
      if (this.draining) {
        release();
        try {
          c.close();
        } catch { /* gone */ }
        if (this.closed) return;
        continue;
      }
      try {
        c.setNoDelay(true);
      } catch { /* not fatal */ }
      this.conns.add(c);
      tcpSession(this.core, this.frontend(), c, () => {
        this.conns.delete(c);
        release();
      });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.listener.close();
    } catch { /* already closed */ }
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
    this.close();
    this.draining = true;
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* gone */ }
    }
    try {
      this.admitting?.close();
    } catch { /* gone */ }
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
