// A data-plane worker's copy of which Wt sessions are live where (nbthread > 1), so that the
// balancer's SessionLookup (a draining server keeps its live sessions) answers without asking
// the control plane. It sees what its own worker observes and, relayed by the control plane,
// what every other worker observes; it expires sessions after the same timeout as the table
// (src/session/table.ts), which stays the authority for counts, lists and the admin page, and
// forgets a process's sessions on the same state events (src/session/ends.ts), which the control
// plane pushes to every worker's store.

import type { Config } from "../config/model.ts";
import type { ServerState, StateEvent } from "../state.ts";
import type { SessionLookup, SessionObserver } from "./observer.ts";
import { processKey, sessionsEndedBy } from "./ends.ts";

interface Proc {
  /** Its servers ("backend/server"). */
  servers: string[];
  /** Session-id prefixes of its servers (`prefix:`). */
  prefixes: string[];
  /** The discovered server whose DNS-derived prefix (`prefix-from`) is the process's. */
  derived: string | null;
}

interface Seen {
  /** Its Wt process (processKey: servers with one address are one, a discovered one its own). */
  proc: string;
  lastSeen: number;
  ws: number;
}

export class SessionReplica implements SessionObserver, SessionLookup {
  private readonly entries = new Map<string, Seen>();
  private procOf = new Map<string, string>();
  private procs = new Map<string, Proc>();
  private timeoutMs = 0;
  private max = 0;

  /** `servers`: this worker's server states (their discovered prefixes, for state events). */
  constructor(
    config: Config,
    private readonly now: () => number = Date.now,
    private readonly servers: ReadonlyMap<string, ServerState> = new Map(),
  ) {
    this.sync(config);
  }

  /** Follows a reload: the servers' processes and the settings. */
  sync(config: Config): void {
    const w = config.global.wtSessions;
    this.timeoutMs = w?.timeout ?? 0;
    this.max = w?.max ?? 0;
    this.procOf = new Map();
    this.procs = new Map();
    for (const b of config.backends) {
      for (const s of b.servers) {
        const key = `${b.name}/${s.name}`;
        const proc = processKey(b.name, s);
        this.procOf.set(key, proc);
        let p = this.procs.get(proc);
        if (!p) {
          p = { servers: [], prefixes: [], derived: s.dns?.prefixFrom ? key : null };
          this.procs.set(proc, p);
        }
        p.servers.push(key);
        if (s.prefix && !p.derived && !p.prefixes.includes(s.prefix)) p.prefixes.push(s.prefix);
      }
    }
  }

  /** A state event of this worker's store: the sessions it ends are forgotten here too. */
  stateEvent(e: StateEvent): void {
    const proc = this.procOf.get(e.key);
    if (proc === undefined) return;
    const states = (this.procs.get(proc)?.servers ?? []).flatMap((k) => this.servers.get(k) ?? []);
    if (sessionsEndedBy(e, states) === null) return;
    for (const [id, seen] of this.entries) if (seen.proc === proc) this.entries.delete(id);
  }

  /** As the table: an id without the process's prefix is not its session. */
  private mayHold(proc: string, id: string): boolean {
    const p = this.procs.get(proc)!;
    if (p.derived) {
      const prefix = this.servers.get(p.derived)?.dns?.prefix;
      return !prefix || id.startsWith(prefix);
    }
    return p.prefixes.length === 0 || p.prefixes.some((x) => id.startsWith(x));
  }

  private live(e: Seen): boolean {
    return e.ws > 0 || this.now() - e.lastSeen <= this.timeoutMs;
  }

  private touch(server: string, id: string, wsDelta: number): void {
    const proc = this.procOf.get(server);
    if (!proc) return;
    let e = this.entries.get(id);
    if (!e || e.proc !== proc) {
      // As the table: another process answering a live foreign id does not take it over.
      if (e && this.live(e)) return;
      if (!this.mayHold(proc, id)) return;
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
    return e !== undefined && e.proc === this.procOf.get(server) && this.live(e);
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
