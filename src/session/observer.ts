// What the data plane tells the control plane about Wt sessions: the ONE interface between the
// request path and the session table (src/session/table.ts). Methods are void and take strings
// only, so that with worker threads each call can become a batched message; at nbthread 1 the
// table itself is the observer (a direct call). Nothing calls it when `wt-sessions` is off.

export interface SessionObserver {
  /** Server `server` ("backend/server") answered a request carrying Wt session id `id`. */
  answered(server: string, id: string): void;
  /** A WebSocket of session `id` on `server` opened (its 101 reached the client). */
  wsOpened(server: string, id: string): void;
  /** That WebSocket closed. */
  wsClosed(server: string, id: string): void;
}

/**
 * What the balancer asks of the session table: is `id` a live session of `server`'s process?
 * (affinity lets a draining server keep its live sessions). At nbthread 1 the table answers.
 */
export interface SessionLookup {
  isLive(server: string, id: string): boolean;
}

/** Shows at most the prefix plus 4 characters of a session id: ids are secrets. */
export function maskId(id: string, prefix: string | null): string {
  const keep = (prefix !== null && id.startsWith(prefix) ? prefix.length : 0) + 4;
  return id.length <= keep
    ? id.slice(0, Math.max(0, id.length - 1)) + "…"
    : id.slice(0, keep) + "…";
}
