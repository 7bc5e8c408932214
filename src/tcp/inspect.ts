// `tcp-request inspect-delay` + `tcp-request content accept|reject`: the client's first bytes
// are read (up to the delay, or a full buffer, or the client's FIN) and the rules evaluated on
// each arrival, as HAProxy does: the first rule whose condition holds decides; a condition that
// is false only because more bytes could change it (a partial ClientHello) waits for them; at
// the end of the delay the rules run once more on what is there; no rule: accept.

import type { ContentRule } from "../acl/router.ts";
import type { RequestInfo, TcpPayload } from "../proxy/request.ts";

/** HAProxy's buffer: inspection stops waiting when this much has arrived. */
export const INSPECT_BUFFER = 16384;

export interface Inspected {
  verdict: "accept" | "reject";
  /** Bytes read from the client (forwarded to the server first). */
  bytes: Uint8Array;
  /** A read still in flight when the delay ended (the tunnel takes it over). */
  pending: Promise<Uint8Array | null> | null;
  /** The client sent FIN (or failed) during the inspection. */
  eof: boolean;
}

/** What the rules say now: a verdict, or "wait" for more bytes. */
export function evaluate(
  rules: readonly ContentRule[],
  info: RequestInfo,
): "accept" | "reject" | "wait" {
  const p = info.payload!;
  for (const r of rules) {
    p.miss = false;
    const raw = r.test(info);
    if (!raw && p.miss && !p.final) return "wait";
    if (raw !== r.negate) return r.action;
  }
  return "accept";
}

function readChunk(conn: Deno.Conn): Promise<Uint8Array | null> {
  const chunk = new Uint8Array(4096);
  return conn.read(chunk).then((n) => (n === null ? null : chunk.subarray(0, n)), () => null);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Runs the inspection on `conn`; `info.payload` holds the bytes the rules (and then the
 * use_backend rules) see. `delayMs` null or 0: no wait, the rules see nothing.
 */
export async function inspect(
  conn: Deno.Conn,
  rules: readonly ContentRule[],
  delayMs: number | null,
  info: RequestInfo,
  signal?: AbortSignal,
): Promise<Inspected> {
  const p: TcpPayload = { bytes: new Uint8Array(0), final: !delayMs, miss: false };
  info.payload = p;
  const deadline = performance.now() + (delayMs ?? 0);
  let pending: Promise<Uint8Array | null> | null = null;
  let eof = false;
  for (;;) {
    const v = evaluate(rules, info);
    if (v !== "wait") return { verdict: v, bytes: p.bytes, pending, eof };
    pending ??= readChunk(conn);
    const left = deadline - performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), Math.max(0, left));
    });
    const onAbort = () => p.final = true;
    signal?.addEventListener("abort", onAbort, { once: true });
    const got = await Promise.race([pending, timeout]);
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    if (got === "timeout" || signal?.aborted) {
      p.final = true;
      continue;
    }
    pending = null;
    if (got === null) {
      eof = true;
      p.final = true;
      continue;
    }
    p.bytes = concat(p.bytes, got);
    if (p.bytes.length >= INSPECT_BUFFER) p.final = true;
  }
}
