// `on-marked-down shutdown-sessions`: the streams attached to each server that has it (mode-tcp
// sessions, WebSocket tunnels, HTTP exchanges in progress), so that they are cut when the
// server goes DOWN or into maintenance, as HAProxy does (termination "D": "DD", or "DH" when
// the response head had not come yet). Streams of other servers are never registered: the
// hot path pays one field read (the server config's onMarkedDown) per request.

import type { StateStore } from "../state.ts";

/** A stream attached to a server (a tcp session, a WebSocket tunnel, an HTTP exchange). */
export interface ServerStream {
  /** The server went DOWN: end now, logged with a "D" termination. */
  serverDown(): void;
}

/** Where one server's streams register (made only for a server with the option). */
export interface StreamSlot {
  add(s: ServerStream): void;
  delete(s: ServerStream): void;
}

export class ServerSessions {
  private readonly byServer = new Map<string, Set<ServerStream>>();

  add(serverKey: string, s: ServerStream): void {
    let set = this.byServer.get(serverKey);
    if (!set) this.byServer.set(serverKey, set = new Set());
    set.add(s);
  }

  delete(serverKey: string, s: ServerStream): void {
    const set = this.byServer.get(serverKey);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.byServer.delete(serverKey);
  }

  /** add/delete bound to one server (handed to the WebSocket room, to an ExchangeCut). */
  slot(serverKey: string): StreamSlot {
    return new ServerSlot(this, serverKey);
  }

  /** Streams open on `serverKey` now. */
  count(serverKey: string): number {
    return this.byServer.get(serverKey)?.size ?? 0;
  }

  /** Cuts every stream of `serverKey`. */
  shutdown(serverKey: string): void {
    const set = this.byServer.get(serverKey);
    if (!set) return;
    for (const s of [...set]) {
      try {
        s.serverDown();
      } catch (err) {
        console.error(`wtproxy: shutdown-sessions: ${err instanceof Error ? err.stack : err}`);
      }
    }
  }

  /**
   * Follows the store: a server with `on-marked-down shutdown-sessions` going DOWN, or into
   * maintenance (HAProxy cuts then too), is cut. In a worker the control plane relays events.
   */
  watch(store: StateStore): () => void {
    return store.on((e) => {
      if (e.server === null || (e.kind !== "down" && e.kind !== "admin")) return;
      const st = store.servers.get(e.key);
      if (st?.config.onMarkedDown !== "shutdown-sessions") return;
      if (e.kind === "down" || st.effectiveAdmin === "MAINT") this.shutdown(e.key);
    });
  }
}

class ServerSlot implements StreamSlot {
  constructor(private readonly table: ServerSessions, private readonly key: string) {}
  add(s: ServerStream): void {
    this.table.add(this.key, s);
  }
  delete(s: ServerStream): void {
    this.table.delete(this.key, s);
  }
}

/** Registers `exchange` (in progress on `server`) to be cut with it. */
export function exchangeCut(
  core: { serverSessions: ServerSessions },
  server: { key: string },
  exchange: { abort(): void },
): ExchangeCut {
  return new ExchangeCut(core.serverSessions.slot(server.key), exchange);
}

/**
 * An HTTP exchange in progress on a server with the option (registered from the request
 * sent until the response is settled). Cut: the server connection is closed; the request's
 * outcome then reads `killed` to log "DH" (502 to the client) or "DD" (body cut).
 */
export class ExchangeCut implements ServerStream {
  killed = false;

  constructor(private readonly slot: StreamSlot, private readonly exchange: { abort(): void }) {
    slot.add(this);
  }

  serverDown(): void {
    this.killed = true;
    this.slot.delete(this);
    this.exchange.abort();
  }

  /** The exchange is over (response settled or failed): no longer cut. */
  done(): void {
    if (!this.killed) this.slot.delete(this);
  }
}
