// Inactivity timeouts without one timer per chunk: a watchdog is a timestamp that the data path
// touches (`touch()` is one property write); one shared interval sweeps the armed watchdogs and
// fires those idle longer than their timeout. The interval runs only while a watchdog is armed,
// so an idle process (and every test) has no timer left behind.

/** Sweep period in ms: timeouts fire at most this much late. */
export const TICK_MS = 25;

export class Watchdog {
  /** Last activity (performance.now()). */
  last = 0;
  armed = false;
  constructor(
    /** Inactivity limit in ms; 0 or null = never fires (the watchdog is then never armed). */
    public timeoutMs: number | null,
    private readonly onFire: () => void,
  ) {}

  /** Starts watching (idempotent); resets the idle time (to `now` when the caller has it). */
  arm(timeoutMs: number | null = this.timeoutMs, now = performance.now()): void {
    this.timeoutMs = timeoutMs;
    this.last = now;
    if (!timeoutMs || timeoutMs <= 0) {
      if (this.armed) this.disarm();
      return;
    }
    if (!this.armed) {
      this.armed = true;
      armed.add(this);
      if (interval === undefined) interval = setInterval(sweep, TICK_MS);
    }
  }

  /** Records activity. */
  touch(): void {
    this.last = performance.now();
  }

  disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    armed.delete(this);
    if (armed.size === 0 && interval !== undefined) {
      clearInterval(interval);
      interval = undefined;
    }
  }

  /** Called by the sweep. */
  fire(): void {
    this.disarm();
    this.onFire();
  }
}

const armed = new Set<Watchdog>();
let interval: ReturnType<typeof setInterval> | undefined;

function sweep(): void {
  const now = performance.now();
  for (const w of armed) {
    if (now - w.last >= w.timeoutMs!) {
      try {
        w.fire();
      } catch (err) {
        console.error(`watchdog callback failed: ${err}`);
      }
    }
  }
}

/** Number of armed watchdogs (tests use it to prove nothing is left behind). */
export function armedWatchdogs(): number {
  return armed.size;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
