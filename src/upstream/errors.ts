// Upstream failures, classified once, where they happen. The attempt loop (src/proxy/forward.ts)
// reads only `nothingSent` to decide whether a retry or a redispatch is safe.

export type UpstreamErrorKind =
  /** TCP connect refused (RST to our SYN): nothing sent. */
  | "connect-refused"
  /** TCP connect did not complete within `timeout connect`: nothing sent. */
  | "connect-timeout"
  /** Any other connect failure (unreachable, reset during the handshake): nothing sent. */
  | "connect-error"
  /** The first write of the request failed on a fresh connection: nothing was delivered. */
  | "reset-before-send"
  /** A pooled (reused) connection turned out closed before any response byte came back. */
  | "stale-reused"
  /** The server closed or reset after the request (or part of it) was sent: 502 SH. */
  | "closed-after-send"
  /** The server sent something that is not a valid HTTP/1.x response head: 502 PH. */
  | "invalid-response"
  /** No byte from the server within `timeout server` while waiting for the head: 504 sH. */
  | "server-timeout"
  /** The server stopped mid-body (closed early or idle past `timeout server`): SD / sD. */
  | "body-truncated"
  | "body-timeout";

const NOTHING_SENT: ReadonlySet<UpstreamErrorKind> = new Set<UpstreamErrorKind>([
  "connect-refused",
  "connect-timeout",
  "connect-error",
  "reset-before-send",
]);

export class UpstreamError extends Error {
  constructor(readonly kind: UpstreamErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UpstreamError";
  }

  /**
   * The one retry-safety rule: true when the server cannot have seen any byte of the request
   * (connect failed, or the very first write failed). Only then may the attempt loop retry or
   * redispatch. Everything else (request sent, even partly) is answered 502/504, never retried.
   * `stale-reused` is handled separately: it is retried once on a fresh connection, and only when
   * the request body could be replayed.
   */
  get nothingSent(): boolean {
    return NOTHING_SENT.has(this.kind);
  }

  /** True for a connect phase failure (the passive health marking reacts to these). */
  get isConnectFailure(): boolean {
    return this.kind === "connect-refused" || this.kind === "connect-timeout" ||
      this.kind === "connect-error";
  }
}

/** Maps a Deno connect error to its kind. */
export function classifyConnectError(err: unknown): UpstreamErrorKind {
  if (err instanceof Deno.errors.ConnectionRefused) return "connect-refused";
  if (err instanceof Deno.errors.TimedOut) return "connect-timeout";
  return "connect-error";
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
