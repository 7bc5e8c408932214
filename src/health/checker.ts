// The Checker interface, HAProxy's check status words, and the helpers every checker shares:
// a Deno.connect bounded by a timeout and an abort signal (Deno.connect has no timeout option).

import type { BackendConfig, ServerConfig } from "../config/model.ts";

/**
 * HAProxy's check statuses (src/check.c get_check_status_description) that wtproxy produces.
 * L4OK "Layer4 check passed", L4TOUT "Layer4 timeout", L4CON "Layer4 connection problem",
 * L7TOUT "Layer7 timeout", L7RSP "Layer7 invalid response", L7OK "Layer7 check passed",
 * L7STS "Layer7 wrong status", SOCKERR "Socket error"; L7OKCD "Layer7 check conditionally
 * passed": a 404 under `http-check disable-on-404` (the server goes NOLB, see health/machine.ts).
 */
export type CheckStatus =
  | "L4OK"
  | "L4TOUT"
  | "L4CON"
  | "L6OK"
  | "L6TOUT"
  | "L6RSP"
  | "L7TOUT"
  | "L7RSP"
  | "L7OK"
  | "L7OKCD"
  | "L7STS"
  | "SOCKERR";

const STATUS_TEXT: Record<CheckStatus, string> = {
  L4OK: "Layer4 check passed",
  L4TOUT: "Layer4 timeout",
  L4CON: "Layer4 connection problem",
  L6OK: "Layer6 check passed",
  L6TOUT: "Layer6 timeout",
  L6RSP: "Layer6 invalid response",
  L7TOUT: "Layer7 timeout",
  L7RSP: "Layer7 invalid response",
  L7OK: "Layer7 check passed",
  L7OKCD: "Layer7 check conditionally passed",
  L7STS: "Layer7 wrong status",
  SOCKERR: "Socket error",
};

export interface CheckResult {
  ok: boolean;
  /** Whole milliseconds from the start of the check to its verdict (HAProxy's "check duration"). */
  durationMs: number;
  /** HAProxy's words, e.g. `Layer4 connection problem, info: "Connection refused"`. */
  reason: string;
  status: CheckStatus;
  /** HTTP status code (Layer7 results that saw one). */
  code?: number;
  /** Free text after `info:` (unquoted). */
  info?: string;
}

export interface CheckOptions {
  /**
   * Bound for the TCP connect alone; the rest of the check then gets `timeoutMs` again (HAProxy
   * with `timeout check`: connect within min(timeout connect, inter), then `timeout check` more
   * to read). Without it the whole check must end within `timeoutMs`.
   */
  connectTimeoutMs?: number;
  /** Aborting it cancels the check; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface Checker {
  /** Probes `server` once and resolves with the verdict; never rejects unless aborted. */
  check(server: ServerConfig, timeoutMs: number, opts?: CheckOptions): Promise<CheckResult>;
}

/** Builds HAProxy's reason text: `DESC[, code: N][, info: "TEXT"]`. */
export function describeCheck(status: CheckStatus, code?: number, info?: string): string {
  let s = STATUS_TEXT[status];
  // HAProxy prints the code for statuses at or above HCHK_STATUS_L57DATA (L7OK, L7OKCD, L7STS).
  if (code !== undefined && (status === "L7OK" || status === "L7OKCD" || status === "L7STS")) {
    s += `, code: ${code}`;
  }
  if (info) s += `, info: "${info.replaceAll('"', "#22")}"`;
  return s;
}

export function result(
  status: CheckStatus,
  startedAt: number,
  code?: number,
  info?: string,
): CheckResult {
  return {
    ok: status === "L4OK" || status === "L6OK" || status === "L7OK" || status === "L7OKCD",
    durationMs: Math.max(0, Math.round(performance.now() - startedAt)),
    reason: describeCheck(status, code, info),
    status,
    ...(code !== undefined ? { code } : {}),
    ...(info ? { info } : {}),
  };
}

/** The timeouts HAProxy gives a server's check (§3.21 and `timeout check`). */
export function checkTimeouts(
  backend: BackendConfig,
  server: ServerConfig,
): { timeoutMs: number; connectTimeoutMs?: number } {
  const t = backend.settings.timeouts;
  if (t.check === null) return { timeoutMs: server.inter };
  const connect = t.connect === null ? server.inter : Math.min(t.connect, server.inter);
  return { timeoutMs: t.check, connectTimeoutMs: connect };
}

/** Error text as HAProxy prints errno: "Connection refused" (Deno appends " (os error 111)"). */
export function errorInfo(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\(os error \d+\)\s*$/, "");
}

export type ConnectOutcome =
  | { kind: "connected"; conn: Deno.TcpConn }
  | { kind: "timeout" }
  | { kind: "error"; error: unknown };

/** Where a server's checks go: `addr A` and `port N` (HAProxy's server keywords), else the
 * server's own address; `port` (a `tcp-check connect port N`) wins over both ports. */
export function checkTarget(server: ServerConfig, port?: number | null): Deno.ConnectOptions {
  const host = (server.checkAddr ?? server.address.host).replace(/^\[(.*)\]$/, "$1");
  return {
    hostname: !server.checkAddr && server.address.wildcard ? "127.0.0.1" : host,
    port: port ?? server.checkPort ?? server.address.port,
  };
}

/** Deno.connect to the server, bounded by `timeoutMs` and `signal` (rejects only on abort). */
export async function connectWithin(
  server: ServerConfig,
  timeoutMs: number,
  signal?: AbortSignal,
  port?: number | null,
): Promise<ConnectOutcome> {
  signal?.throwIfAborted();
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new Error("check connect timeout"));
  }, Math.max(1, timeoutMs));
  const onAbort = () => ac.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const conn = await Deno.connect({ ...checkTarget(server, port), signal: ac.signal });
    return { kind: "connected", conn };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timedOut) return { kind: "timeout" };
    return { kind: "error", error };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The layer-4 part every checker starts with: the clock starts, then a connect bounded by
 * `opts.connectTimeoutMs` (else `timeoutMs`). Gives the connection, or the L4TOUT / L4CON
 * verdict to return as it is.
 */
export async function connectPhase(
  server: ServerConfig,
  timeoutMs: number,
  opts: CheckOptions,
): Promise<{ start: number; conn: Deno.TcpConn } | { start: number; failed: CheckResult }> {
  const start = performance.now();
  const out = await connectWithin(server, opts.connectTimeoutMs ?? timeoutMs, opts.signal);
  if (out.kind === "timeout") return { start, failed: result("L4TOUT", start) };
  if (out.kind === "error") {
    return { start, failed: result("L4CON", start, undefined, errorInfo(out.error)) };
  }
  return { start, conn: out.conn };
}
