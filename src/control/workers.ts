// The control plane's data-plane workers (nbthread > 1): starts them, switches them together
// on reload (prepare everywhere, then commit everywhere, or abort everywhere), delivers their
// events to the EventHub, drains them on stop, and replaces a worker that dies.

import type { Config } from "../config/model.ts";
import type { ListenerInfo } from "../data/plane.ts";
import type { EventHub } from "../shared/channel.ts";
import type { FromWorker, ToWorker } from "../shared/protocol.ts";
import type { SharedTable } from "../shared/table.ts";
import type { PoolOptions } from "../upstream/pool.ts";

export interface WorkerPoolOptions {
  pool?: PoolOptions;
  /** Called with a line when a worker dies and is replaced (the event log). */
  onWorkerDied?: (index: number, why: string) => void;
  /** The discovered server addresses now ([key, address]), sent to a starting worker. */
  addresses?: () => [string, unknown][];
  /**
   * Pushes ([kind, data]) a starting worker gets right after its start message, before any
   * later push: what the control plane knows that the worker must not wait for (e.g. the live
   * Wt sessions for its SessionReplica).
   */
  snapshot?: () => [string, unknown][];
  /** Event kinds also relayed to the other workers (as a push of kind `${kind}-peer`). */
  relay?: string[];
}

export interface WorkerPool {
  readonly size: number;
  /** The listening sockets (the same in every worker). */
  readonly listeners: ListenerInfo[];
  /** Workers replaced so far (tests). */
  readonly replaced: number;
  /**
   * Switches every worker to `next`, or none (throws what the first failure said);
   * `prepared` runs once all have prepared, before any commits.
   */
  reload(next: Config, table: SharedTable, prepared: () => void): Promise<void>;
  push(kind: string, data: unknown): void;
  /** Drains every worker (at most `graceMs` plus the cut), then ends them. */
  stop(graceMs: number): Promise<void>;
  /** Tests: makes worker `index` throw from its event loop. */
  fault(index: number): void;
}

const WORKER_URL = new URL("../data/worker.ts", import.meta.url);

type Waiter = { accept: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void };

class Thread {
  readonly worker: Worker;
  private waiters: Waiter[] = [];
  dead = false;

  constructor(
    readonly index: number,
    private readonly hub: EventHub,
    private readonly onDeath: (t: Thread, why: string) => void,
    private readonly onBatch: (t: Thread, batch: [string, unknown][]) => void,
  ) {
    this.worker = new Worker(WORKER_URL, { type: "module", name: `wtproxy-data-${index}` });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.die(e.message || "uncaught error");
    };
    this.worker.onmessageerror = () => this.die("unreadable message");
  }

  private receive(m: FromWorker): void {
    if (m.t === "events") {
      for (const [kind, data] of m.batch) this.hub.deliver(kind, data, this.index);
      this.onBatch(this, m.batch);
      return;
    }
    const i = this.waiters.findIndex((w) => w.accept(m));
    if (i === -1) return;
    const [w] = this.waiters.splice(i, 1);
    w.resolve(m);
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.worker.terminate();
    const failed: FromWorker = { t: "start-failed", error: `worker ${this.index} died: ${why}` };
    for (const w of this.waiters.splice(0)) w.resolve(failed);
    this.onDeath(this, why);
  }

  send(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  /** Sends `m` and resolves with the first answer `accept` takes (or a death notice). */
  ask(m: ToWorker | null, accept: (m: FromWorker) => boolean): Promise<FromWorker> {
    if (this.dead) {
      return Promise.resolve({ t: "start-failed", error: `worker ${this.index} is dead` });
    }
    const p = new Promise<FromWorker>((resolve) => this.waiters.push({ accept, resolve }));
    if (m) this.send(m);
    return p;
  }

  terminate(): void {
    this.dead = true;
    this.worker.terminate();
  }
}

function portsOf(listeners: ListenerInfo[]): [string, number][] {
  return listeners.map((l) => [l.id, l.port]);
}

export async function startWorkers(
  n: number,
  config: Config,
  table: SharedTable,
  hub: EventHub,
  opts: WorkerPoolOptions = {},
): Promise<WorkerPool> {
  let current = config;
  let currentTable = table;
  let listeners: ListenerInfo[] = [];
  let stopping = false;
  let replaced = 0;
  let nextId = 1;
  const threads: Thread[] = [];
  // Workers between their start message and "ready" (a replacement too): pushes go to them
  // as well, queued after the start message, so none is missed while they start.
  const starting = new Set<Thread>();
  const targets = () => [...threads, ...starting];

  const spawn = async (index: number): Promise<Thread> => {
    const t = new Thread(index, hub, onDeath, relayOut);
    starting.add(t);
    const ready = t.ask({
      t: "start",
      index,
      config: current,
      table: currentTable.describe(),
      ports: portsOf(listeners),
      pool: opts.pool,
      addresses: opts.addresses?.() ?? [],
    }, (a) => a.t === "ready" || a.t === "start-failed");
    for (const [kind, data] of opts.snapshot?.() ?? []) t.send({ t: "push", kind, data });
    const m = await ready;
    starting.delete(t);
    if (m.t !== "ready") {
      t.terminate();
      throw new Error(m.t === "start-failed" ? m.error : "worker did not start");
    }
    if (listeners.length === 0) listeners = m.listeners;
    return t;
  };

  const relayed = new Set(opts.relay ?? []);
  /** Sends the relayed kinds of a worker's batch to every other worker, one push per kind. */
  function relayOut(from: Thread, batch: [string, unknown][]): void {
    if (relayed.size === 0) return;
    const byKind = new Map<string, unknown[]>();
    for (const [kind, data] of batch) {
      if (!relayed.has(kind)) continue;
      let list = byKind.get(kind);
      if (!list) byKind.set(kind, list = []);
      list.push(data);
    }
    for (const [kind, list] of byKind) {
      for (const t of targets()) {
        if (t !== from) t.send({ t: "push", kind: `${kind}-peer`, data: list });
      }
    }
  }

  function onDeath(t: Thread, why: string): void {
    currentTable.release(t.index);
    if (stopping) return;
    opts.onWorkerDied?.(t.index, why);
    const i = threads.indexOf(t);
    spawn(t.index).then((fresh) => {
      replaced++;
      if (stopping) fresh.send({ t: "stop", graceMs: 0 });
      else if (i !== -1) threads[i] = fresh;
    }, (err) => {
      console.error(`wtproxy: cannot replace data-plane worker ${t.index}: ${err.message}`);
    });
  }

  // The first worker picks the ports of port-0 binds; the others listen on the same ones.
  try {
    threads.push(await spawn(1));
    const rest = await Promise.allSettled(
      Array.from({ length: n - 1 }, (_, i) => spawn(i + 2)),
    );
    for (const r of rest) if (r.status === "fulfilled") threads.push(r.value);
    const failed = rest.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (err) {
    stopping = true;
    for (const t of threads) t.terminate();
    throw err;
  }

  return {
    get size() {
      return threads.length;
    },
    get listeners() {
      return listeners;
    },
    get replaced() {
      return replaced;
    },
    async reload(next, nextTable, prepared) {
      const id = nextId++;
      const ask = (t: Thread, ports: [string, number][]) =>
        t.ask(
          { t: "prepare", id, config: next, table: nextTable.describe(), ports },
          (a) => (a.t === "prepared" || a.t === "failed") && a.id === id,
        );
      const live = threads.filter((t) => !t.dead);
      const first = await ask(live[0], portsOf(listeners));
      const answers = [first];
      if (first.t === "prepared") {
        const ports = portsOf(first.listeners);
        answers.push(...await Promise.all(live.slice(1).map((t) => ask(t, ports))));
      }
      const bad = answers.find((a) => a.t !== "prepared");
      if (bad) {
        for (const t of live) t.send({ t: "abort", id });
        throw new Error(
          bad.t === "failed" || bad.t === "start-failed" ? bad.error : "reload failed",
        );
      }
      prepared();
      current = next;
      currentTable = nextTable;
      if (first.t === "prepared") listeners = first.listeners;
      await Promise.all(
        live.map((t) => t.ask({ t: "commit", id }, (a) => a.t === "committed" && a.id === id)),
      );
    },
    push(kind, data) {
      for (const t of targets()) t.send({ t: "push", kind, data });
    },
    async stop(graceMs) {
      stopping = true;
      await Promise.all(threads.map(async (t) => {
        const bye = t.ask({ t: "stop", graceMs }, (a) => a.t === "stopped");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise((r) => timer = setTimeout(r, graceMs + 3000));
        await Promise.race([bye, late]);
        clearTimeout(timer);
        t.terminate();
      }));
    },
    fault(index) {
      threads.find((t) => t.index === index)?.send({ t: "fault" });
    },
  };
}
