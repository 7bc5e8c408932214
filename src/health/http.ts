// `option httpchk [METHOD] [URI] [VERSION]` + `http-check expect ...`: after the TCP connect,
// one HTTP request, then the status line (and the body for string expectations) decides.
//
// Wire form, as HAProxy 2.6 sends it (captured): `OPTIONS / HTTP/1.0\r\n\r\n` with no header at
// all by default; HTTP/1.1 adds `connection: close`; headers hidden in the version string the
// legacy way (`HTTP/1.1\r\nHost:\ www`) are sent with lower-cased names.
// Verdicts and words (captured from HAProxy 2.6.12):
//   2xx/3xx (no expect)      -> "Layer7 check passed, code: 200"
//   other status             -> `Layer7 wrong status, code: 500, info: "Internal Server Error"`
//   closed/garbage answer    -> "Layer7 invalid response"
//   string/rstring mismatch  -> `Layer7 invalid response, info: "HTTP content check did not match"`
//   no answer in time        -> "Layer7 timeout"
//   404 with disable-on-404  -> "Layer7 check conditionally passed, code: 404" (even with expect)

import type { HttpCheck, ServerConfig } from "../config/model.ts";
import {
  type Checker,
  type CheckOptions,
  type CheckResult,
  type CheckStatus,
  connectPhase,
  errorInfo,
  result,
} from "./checker.ts";

/** HAProxy's check buffer: at most this much of the answer is read and matched. */
export const CHECK_BUFFER_BYTES = 16384;

export const DEFAULT_HTTP_CHECK: HttpCheck = {
  method: "OPTIONS",
  uri: "/",
  version: "HTTP/1.0",
  expect: null,
};

/** The request bytes HAProxy would send for this `option httpchk`. */
export function httpCheckRequest(hc: HttpCheck): Uint8Array {
  const parts = hc.version.replaceAll("\\r\\n", "\r\n").split(/\r?\n/).filter((l) => l !== "");
  const version = parts.shift() ?? "HTTP/1.0";
  const headers = parts.map((line) => {
    const i = line.indexOf(":");
    if (i < 0) return line;
    const value = line.slice(i + 1).replace(/^\\?\s*/, "").replaceAll("\\ ", " ");
    return `${line.slice(0, i).trim().toLowerCase()}: ${value}`;
  });
  for (const [name, value] of hc.headers ?? []) headers.push(`${name.toLowerCase()}: ${value}`);
  const body = hc.body ?? "";
  if (body !== "") headers.push(`content-length: ${new TextEncoder().encode(body).length}`);
  if (version.toUpperCase() === "HTTP/1.1" && !headers.some((h) => /^connection:/i.test(h))) {
    headers.push("connection: close");
  }
  const head = `${hc.method} ${hc.uri} ${version}\r\n` + headers.map((h) => h + "\r\n").join("") +
    "\r\n" + body;
  return new TextEncoder().encode(head);
}

interface ParsedResponse {
  code: number;
  reasonPhrase: string;
  /** Body as received so far (de-chunked when chunked), decoded as latin1. */
  body: string;
  /** True when the body is known to be complete (content-length met, last chunk, or EOF). */
  complete: boolean;
}

/** Parses what was read so far; null while the status line is incomplete, "invalid" if not HTTP. */
export function parseResponse(
  buf: Uint8Array,
  eof: boolean,
): ParsedResponse | null | "invalid" {
  const text = latin1(buf);
  const eol = text.indexOf("\n");
  if (eol < 0) return eof || buf.length >= CHECK_BUFFER_BYTES ? "invalid" : null;
  const m = /^HTTP\/\d\.\d (\d{3})(?: ([^\r\n]*))?\r?$/.exec(text.slice(0, eol));
  if (!m) return "invalid";
  const code = Number(m[1]);
  const reasonPhrase = (m[2] ?? "").trim();
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    return { code, reasonPhrase, body: "", complete: eof || buf.length >= CHECK_BUFFER_BYTES };
  }
  const headers = text.slice(eol + 1, headEnd).toLowerCase();
  let body = text.slice(headEnd + 4);
  let complete = eof || buf.length >= CHECK_BUFFER_BYTES;
  const cl = /(?:^|\n)content-length:\s*(\d+)/.exec(headers);
  if (/(?:^|\n)transfer-encoding:[^\n]*chunked/.test(headers)) {
    const d = dechunk(body);
    body = d.body;
    complete ||= d.done;
  } else if (cl) {
    const len = Number(cl[1]);
    if (body.length >= len) {
      body = body.slice(0, len);
      complete = true;
    }
  } else if (code === 204 || code === 304 || (code >= 100 && code < 200)) {
    complete = true;
  }
  return { code, reasonPhrase, body, complete };
}

function dechunk(raw: string): { body: string; done: boolean } {
  let out = "";
  let i = 0;
  while (true) {
    const eol = raw.indexOf("\r\n", i);
    if (eol < 0) return { body: out, done: false };
    const size = parseInt(raw.slice(i, eol).split(";")[0].trim(), 16);
    if (!Number.isFinite(size)) return { body: out, done: true };
    if (size === 0) return { body: out, done: true };
    const start = eol + 2;
    out += raw.slice(start, Math.min(raw.length, start + size));
    if (raw.length < start + size + 2) return { body: out, done: false };
    i = start + size + 2;
  }
}

function latin1(buf: Uint8Array): string {
  let s = "";
  for (let i = 0; i < buf.length; i += 8192) {
    s += String.fromCharCode(...buf.subarray(i, i + 8192));
  }
  return s;
}

/** Whether `code` matches `http-check expect status` values: "200", "200-399", "200,301". */
export function statusMatches(value: string, code: number): boolean {
  return value.split(/[\s,]+/).filter((p) => p !== "").some((p) => {
    const r = /^(\d+)-(\d+)$/.exec(p);
    if (r) return code >= Number(r[1]) && code <= Number(r[2]);
    return Number(p) === code;
  });
}

/** The verdict on a parsed answer (null = read more first). */
export function judge(
  hc: HttpCheck,
  r: ParsedResponse,
): { status: CheckStatus; code?: number; info?: string } | null {
  const e = hc.expect;
  const wrong = { status: "L7STS" as const, code: r.code, info: r.reasonPhrase };
  const pass = { status: "L7OK" as const, code: r.code };
  // disable-on-404 has precedence over `expect` (HAProxy): a 404 is a conditional pass.
  if (hc.disableOn404 && r.code === 404) {
    return { status: "L7OKCD", code: 404 };
  }
  if (!e) return r.code >= 200 && r.code < 400 ? pass : wrong;
  const neg = e.negate === true;
  switch (e.kind) {
    case "status":
      return statusMatches(e.value, r.code) !== neg ? pass : wrong;
    case "rstatus":
      return new RegExp(e.value).test(String(r.code)) !== neg ? pass : wrong;
    case "string":
    case "rstring": {
      const hit = e.kind === "string" ? r.body.includes(e.value) : new RegExp(e.value).test(r.body);
      if (hit !== neg && (hit || r.complete)) return pass;
      if (!r.complete) return null;
      return { status: "L7RSP", info: "HTTP content check did not match" };
    }
  }
}

export class HttpChecker implements Checker {
  constructor(readonly httpchk: HttpCheck = DEFAULT_HTTP_CHECK) {}

  async check(
    server: ServerConfig,
    timeoutMs: number,
    opts: CheckOptions = {},
  ): Promise<CheckResult> {
    const l4 = await connectPhase(server, timeoutMs, opts);
    if ("failed" in l4) return l4.failed;
    const { start, conn } = l4;
    // Read phase: `timeout check` more after the connect, else what is left of the whole check.
    const left = opts.connectTimeoutMs !== undefined
      ? timeoutMs
      : timeoutMs - (performance.now() - start);
    let timedOut = false;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      close();
    }, Math.max(1, left));
    const onAbort = () => close();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await writeAll(conn, httpCheckRequest(this.httpchk));
      const buf = new Uint8Array(CHECK_BUFFER_BYTES);
      let used = 0;
      while (true) {
        let n: number | null = null;
        let eof = false;
        try {
          n = await conn.read(buf.subarray(used));
          if (n === null) eof = true;
          else used += n;
        } catch (err) {
          if (opts.signal?.aborted) throw opts.signal.reason;
          if (timedOut) return result("L7TOUT", start);
          if (used === 0) return result("L4CON", start, undefined, errorInfo(err));
          eof = true;
        }
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (timedOut) return result("L7TOUT", start);
        const full = used >= buf.length;
        const parsed = parseResponse(buf.subarray(0, used), eof || full);
        if (parsed === "invalid") return result("L7RSP", start);
        if (parsed !== null) {
          const v = judge(this.httpchk, parsed);
          if (v) return result(v.status, start, v.code, v.info);
        }
        if (eof || full) return result("L7RSP", start);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (timedOut) return result("L7TOUT", start);
      return result("L4CON", start, undefined, errorInfo(err));
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      close();
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
