// How the data plane tells the control plane what it saw (access log records, a server that
// refused a connection, Wt session observations), and how the control plane pushes changes
// that are not in the shared table (a discovered server address) to the data plane.
//
// nbthread 1: both are direct synchronous calls in the one thread. With workers: events are
// batched per worker and posted (in order, so in order per connection), pushes are posted to
// every worker. Handlers are registered by kind; arguments must be structured-cloneable.

/** Data plane -> control plane. */
export interface EventChannel {
  send(kind: string, data: unknown): void;
}

type Handler = (data: unknown, worker: number) => void;

/** The control plane's side: handlers by kind, fed directly or by the worker pool. */
export class EventHub implements EventChannel {
  private readonly handlers = new Map<string, Handler>();

  handle(kind: string, fn: Handler): void {
    this.handlers.set(kind, fn);
  }

  /** A direct call (nbthread 1: the data plane runs in this thread, worker 0). */
  send(kind: string, data: unknown): void {
    this.deliver(kind, data, 0);
  }

  deliver(kind: string, data: unknown, worker: number): void {
    const fn = this.handlers.get(kind);
    if (!fn) return;
    try {
      fn(data, worker);
    } catch (err) {
      console.error(`wtproxy: ${kind} event from worker ${worker} failed: ${err}`);
    }
  }
}

/** Makes an object whose void methods send `kind` events: `remote<SessionObserver>(ch, "wt")`. */
export function remote<T extends object>(channel: EventChannel, kind: string): T {
  return new Proxy({} as T, {
    get: (_t, method) => (...args: unknown[]) => channel.send(kind, [method, args]),
  });
}

/** The control plane's end of remote(): calls `impl[method](...args)` for each event. */
export function serve<T extends object>(hub: EventHub, kind: string, impl: T): void {
  hub.handle(kind, (data) => {
    const [method, args] = data as [string, unknown[]];
    const fn = (impl as Record<string, unknown>)[method];
    if (typeof fn === "function") fn.apply(impl, args);
  });
}

/** Control plane -> data plane: handlers registered by the data plane, by kind. */
export class PushHandlers {
  private readonly handlers = new Map<string, (data: unknown) => void>();

  on(kind: string, fn: (data: unknown) => void): void {
    this.handlers.set(kind, fn);
  }

  deliver(kind: string, data: unknown): void {
    const fn = this.handlers.get(kind);
    if (!fn) return;
    try {
      fn(data);
    } catch (err) {
      console.error(`wtproxy: ${kind} push failed: ${err}`);
    }
  }
}

/** A worker's EventChannel: batches events and posts them at most every FLUSH_MS. */
export class BatchedChannel implements EventChannel {
  private batch: [string, unknown][] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly post: (batch: [string, unknown][]) => void) {}

  send(kind: string, data: unknown): void {
    this.batch.push([kind, data]);
    if (this.batch.length >= MAX_BATCH) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.post(b);
  }
}

const FLUSH_MS = 2;
const MAX_BATCH = 256;
