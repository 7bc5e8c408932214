// Request rates and response-time history for the stats page: one sample per object per
// period, kept in a short ring so the page can draw a chart without any external store.

import type { Counters, StateStore } from "../state.ts";

export interface RatePoint {
  /** Epoch ms at the end of the period. */
  t: number;
  /** Requests per second over the period. */
  rate: number;
  /** Mean total response time (ms) of requests completed in the period; null when none. */
  avgMs: number | null;
}

interface Track {
  lastRequests: number;
  lastTimeSum: number;
  lastTimeCount: number;
  points: RatePoint[];
  maxRate: number;
}

/** Samples every frontend, backend and server counter each `periodMs`; keeps `keep` points. */
export class RateSampler {
  private readonly tracks = new Map<string, Track>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastT = Date.now();

  constructor(
    private readonly store: () => StateStore,
    readonly periodMs = 1000,
    readonly keep = 60,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.periodMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now (the timer calls it; tests may too). */
  sample(now = Date.now()): void {
    const store = this.store();
    const seconds = Math.max((now - this.lastT) / 1000, 0.001);
    this.lastT = now;
    const seen = new Set<string>();
    const visit = (id: string, c: Counters) => {
      seen.add(id);
      let tr = this.tracks.get(id);
      if (!tr) {
        tr = {
          lastRequests: c.requests,
          lastTimeSum: c.timeSum,
          lastTimeCount: c.timeCount,
          points: [],
          maxRate: 0,
        };
        this.tracks.set(id, tr);
        return;
      }
      const dReq = Math.max(c.requests - tr.lastRequests, 0);
      const dCount = c.timeCount - tr.lastTimeCount;
      const dSum = c.timeSum - tr.lastTimeSum;
      const rate = dReq / seconds;
      tr.points.push({ t: now, rate, avgMs: dCount > 0 ? dSum / dCount : null });
      if (tr.points.length > this.keep) tr.points.shift();
      if (rate > tr.maxRate) tr.maxRate = rate;
      tr.lastRequests = c.requests;
      tr.lastTimeSum = c.timeSum;
      tr.lastTimeCount = c.timeCount;
    };
    for (const [name, f] of store.frontends) visit(`frontend:${name}`, f.counters);
    for (const [name, b] of store.backends) visit(`backend:${name}`, b.counters);
    for (const [key, s] of store.servers) visit(`server:${key}`, s.counters);
    for (const id of [...this.tracks.keys()]) if (!seen.has(id)) this.tracks.delete(id);
  }

  /** id: "frontend:NAME", "backend:NAME" or "server:BACKEND/SERVER". */
  history(id: string): RatePoint[] {
    return this.tracks.get(id)?.points ?? [];
  }

  /** Requests per second over the last period (0 before the second sample). */
  rate(id: string): number {
    const pts = this.tracks.get(id)?.points;
    return pts && pts.length ? pts[pts.length - 1].rate : 0;
  }

  maxRate(id: string): number {
    return this.tracks.get(id)?.maxRate ?? 0;
  }
}
