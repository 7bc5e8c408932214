// A data-plane worker's copy of which Wt sessions are live where (nbthread > 1), so that the
// balancer's SessionLookup (a draining server keeps its live sessions) answers without asking
// the control plane. It sees what its own worker observes and, relayed by the control plane,
// what every other worker observes; it expires sessions after the same timeout as the table
// (src/session/table.ts), which stays the authority for counts, lists and the admin page.

import type { Config } from "../config/model.ts";
import type { SessionLookup, SessionObserver } from "./observer.ts";

interface Seen {
  /** "host:port": servers with one address are one Wt process. */
  proc: string;
  lastSeen: number;
  ws: number;
}

export class SessionReplica implements SessionObserver, SessionLookup {
  private readonly entries = new Map<string, Seen>();
  private procOf = new Map<string, string>();
  private timeoutMs = 0;
  private max = 0;

  constructor(config: Config, private readonly now: () => number = Date.now) {
    this.sync(config);
  }

  /** Follows a reload: the servers' processes and the settings. */
  sync(config: Config): void {
    const w = config.global.wtSessions;
    this.timeoutMs = w?.timeout ?? 0;
    this.max = w?.max ?? 0;
    this.procOf = new Map();
    for (const b of config.backends) {
      for (const s of b.servers) {
        this.procOf.set(`${b.name}/${s.name}`, `${s.address.host}:${s.address.port}`);
      }
    }
  }

  private touch(server: string, id: string, wsDelta: number): void {
    const proc = this.procOf.get(server);
    if (!proc) return;
    let e = this.entries.get(id);
    if (!e || e.proc !== proc) {
      if (e) this.entries.delete(id);
      e = { proc, lastSeen: 0, ws: 0 };
    } else this.entries.delete(id); // re-inserted below: oldest first
    e.lastSeen = this.now();
    e.ws = Math.max(0, e.ws + wsDelta);
    this.entries.set(id, e);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  answered(server: string, id: string): void {
    this.touch(server, id, 0);
  }

  wsOpened(server: string, id: string): void {
    this.touch(server, id, 1);
  }

  wsClosed(server: string, id: string): void {
    const e = this.entries.get(id);
    if (e && e.proc === this.procOf.get(server)) this.touch(server, id, -1);
  }

  isLive(server: string, id: string): boolean {
    const e = this.entries.get(id);
    if (!e || e.proc !== this.procOf.get(server)) return false;
    return e.ws > 0 || this.now() - e.lastSeen <= this.timeoutMs;
  }

  /** Applies a batch of observations relayed from other workers ([method, [server, id]]). */
  apply(batch: [string, [string, string]][]): void {
    for (const [method, [server, id]] of batch) {
      if (method === "answered") this.answered(server, id);
      else if (method === "wsOpened") this.wsOpened(server, id);
      else if (method === "wsClosed") this.wsClosed(server, id);
    }
  }
}
