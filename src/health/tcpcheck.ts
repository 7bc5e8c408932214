// `option tcp-check` + `tcp-check connect|send|send-binary|expect`: HAProxy's rule engine, which
// also runs its protocol checks (redis.ts, ssl_hello.ts, pgsql.ts, mysql.ts are rule lists for
// it, as in HAProxy's src/tcpcheck.c). Rules run in order on one connection (a `connect` rule
// opens a new one); an expect reads until its pattern decides, keeping what was read for the
// next expect; a send starts a fresh answer.
//
// Words (captured from HAProxy 2.6.12 with `option log-health-checks`):
//   all rules passed            -> `Layer7 check passed, code: 0, info: "(tcp-check)"`
//   expect mismatch             -> `Layer7 invalid response, info: "TCPCHK did not match content '+PONG' at step 2"`
//   negated expect matched      -> `... info: "TCPCHK matched unwanted content '-ERR' at step 2"`
//   binary / regex patterns     -> `... content (binary) at step 2`, `(regex)`, `(binary regex)`
//   no answer in time           -> `Layer7 timeout, info: " at step 2 of tcp-check (expect string '+PONG')"`
//   answer closed, nothing read -> `... info: "TCPCHK got an empty response at step 2"`
//   connect refused             -> `Layer4 connection problem, info: "Connection refused at step 1 of
//                                   tcp-check (connect port 1)"` (implicit: "at initial connection step
//                                   of tcp-check")
// Protocol checks (`proto`) add none of the generic tcp-check words: only their own texts.
// Steps count the rules as written from 1; the implicit first connect is step 0.

import type { ServerConfig, TcpCheckRule } from "../config/model.ts";
import {
  type Checker,
  type CheckOptions,
  type CheckResult,
  type CheckStatus,
  connectWithin,
  errorInfo,
  result,
} from "./checker.ts";
import { CHECK_BUFFER_BYTES } from "./http.ts";

/** What a custom expect (mysql) decides: wait for more bytes, go on, or a verdict. */
export type CustomVerdict =
  | "wait"
  | "continue"
  | { status: CheckStatus; code?: number; info?: string };

export interface ExpectRule {
  kind: "expect";
  /** Whether the pattern is in what was read. */
  find?(buf: Uint8Array): boolean;
  /** A protocol's own parser (mysql), in place of find(). */
  custom?(buf: Uint8Array, eof: boolean, last: boolean): CustomVerdict;
  negate: boolean;
  /** Bytes to read before deciding (-1: decide on every read, waiting on a mismatch). */
  minRecv: number;
  /** The pattern in HAProxy's mismatch words: " '+PONG'", " (binary)", " (regex)"... */
  what: string;
  /** The rule in HAProxy's timeout words: "expect string '+PONG'". */
  text: string;
  okStatus?: CheckStatus;
  errorStatus?: CheckStatus;
  toutStatus?: CheckStatus;
  onError?(buf: Uint8Array): string;
  onSuccess?: string;
}

export type Rule =
  | { kind: "connect"; port: number | null }
  | {
    kind: "send";
    data: Uint8Array;
    /** Bytes made at each check (ssl-hello-chk carries the current time). */
    make?: () => Uint8Array;
  }
  | ExpectRule;

export interface RuleSet {
  rules: Rule[];
  /** A protocol check (redis, ssl, pgsql, mysql): no generic tcp-check words. */
  proto: boolean;
}

export function latin1(buf: Uint8Array): string {
  let s = "";
  for (let i = 0; i < buf.length; i += 8192) {
    s += String.fromCharCode(...buf.subarray(i, i + 8192));
  }
  return s;
}

/** A C string of the answer from `from` (HAProxy prints payloads up to their first NUL). */
export function cString(buf: Uint8Array, from: number): string {
  const s = latin1(buf.subarray(from));
  const nul = s.indexOf("\u0000");
  return nul < 0 ? s : s.slice(0, nul);
}

const HEX = "0123456789ABCDEF";

/** Upper-case hex of `buf`: what `rbinary` regexes are matched against, as in HAProxy. */
export function hexOf(buf: Uint8Array): string {
  let s = "";
  for (const b of buf) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

/** "2b504f4e47" -> bytes; null when not an even run of hex digits. */
export function parseHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function includesBytes(buf: Uint8Array, pat: Uint8Array): boolean {
  if (pat.length === 0) return true;
  outer: for (let i = 0; i + pat.length <= buf.length; i++) {
    for (let j = 0; j < pat.length; j++) if (buf[i + j] !== pat[j]) continue outer;
    return true;
  }
  return false;
}

/** An expect rule from its configuration words (`expect [!] string|binary|rstring|rbinary P`). */
export function expectRule(
  match: "string" | "binary" | "rstring" | "rbinary",
  pattern: string,
  negate = false,
  extra: Partial<ExpectRule> = {},
): ExpectRule {
  let find: (buf: Uint8Array) => boolean;
  let what: string;
  switch (match) {
    case "string": {
      find = (b) => latin1(b).includes(pattern);
      what = ` '${pattern}'`;
      break;
    }
    case "binary": {
      const bytes = parseHex(pattern) ?? new Uint8Array(0);
      find = (b) => includesBytes(b, bytes);
      what = " (binary)";
      break;
    }
    case "rstring": {
      const re = new RegExp(pattern);
      find = (b) => re.test(latin1(b));
      what = " (regex)";
      break;
    }
    case "rbinary": {
      const re = new RegExp(pattern);
      find = (b) => re.test(hexOf(b));
      what = " (binary regex)";
      break;
    }
  }
  return {
    kind: "expect",
    find,
    negate,
    minRecv: -1,
    what,
    text: `expect ${negate ? "! " : ""}${match} '${pattern}'`,
    ...extra,
  };
}

/** The engine's rules for a configuration's `tcp-check` lines. */
export function rulesOf(rules: readonly TcpCheckRule[]): Rule[] {
  return rules.map((r): Rule => {
    if (r.kind === "connect") return { kind: "connect", port: r.port };
    if (r.kind === "send") return { kind: "send", data: r.data };
    return expectRule(r.match, r.pattern, r.negate, r.minRecv ? { minRecv: r.minRecv } : {});
  });
}

/** `tcp-check send` text with HAProxy's escapes already applied by the parser. */
export function textBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Runs a rule set: the engine behind `option tcp-check` and the protocol checks. */
export class TcpCheckChecker implements Checker {
  constructor(readonly set: RuleSet) {}

  async check(
    server: ServerConfig,
    timeoutMs: number,
    opts: CheckOptions = {},
  ): Promise<CheckResult> {
    const { rules, proto } = this.set;
    const start = performance.now();
    const signal = opts.signal;
    let conn: Deno.TcpConn | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    let buf = new Uint8Array(CHECK_BUFFER_BYTES);
    let used = 0;
    let eof = false;
    let lastKind: Rule["kind"] | null = null;
    const close = () => {
      try {
        conn?.close();
      } catch { /* already closed */ }
    };
    const onAbort = () => close();
    signal?.addEventListener("abort", onAbort, { once: true });
    const stepInfo = (step: number, what: string) =>
      proto
        ? ""
        : step === 0
        ? " at initial connection step of tcp-check"
        : ` at step ${step} of tcp-check (${what})`;

    /** Opens a connection; the read phase gets `timeout check` (or what is left) after it. */
    const open = async (step: number, port: number | null): Promise<CheckResult | null> => {
      close();
      clearTimeout(timer);
      used = 0;
      eof = false;
      const elapsed = performance.now() - start;
      const limit = opts.connectTimeoutMs ?? Math.max(1, timeoutMs - elapsed);
      const out = await connectWithin(server, limit, signal, port);
      const what = port === null ? "connect" : `connect port ${port}`;
      if (out.kind === "timeout") return result("L4TOUT", start, undefined, stepInfo(step, what));
      if (out.kind === "error") {
        return result("L4CON", start, undefined, errorInfo(out.error) + stepInfo(step, what));
      }
      conn = out.conn;
      const left = opts.connectTimeoutMs !== undefined
        ? timeoutMs
        : timeoutMs - (performance.now() - start);
      timer = setTimeout(() => {
        timedOut = true;
        close();
      }, Math.max(1, left));
      return null;
    };

    try {
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i];
        const step = i + 1;
        if (rule.kind === "connect") {
          const failed = await open(step, rule.port);
          if (failed) return failed;
          lastKind = "connect";
          continue;
        }
        if (conn === null) {
          const failed = await open(0, null);
          if (failed) return failed;
        }
        const c = conn!;
        if (rule.kind === "send") {
          try {
            await writeAll(c, rule.make ? rule.make() : rule.data);
          } catch (err) {
            if (signal?.aborted) throw signal.reason;
            if (timedOut) return result("L7TOUT", start, undefined, stepInfo(step, "send"));
            return result("L4CON", start, undefined, errorInfo(err) + stepInfo(step, "send"));
          }
          used = 0;
          eof = false;
          lastKind = "send";
          continue;
        }
        // expect: read until it decides.
        const last = i === rules.length - 1;
        for (;;) {
          const v = this.judge(rule, buf.subarray(0, used), eof || used >= buf.length, last, step);
          if (v === "continue") break;
          if (v !== "wait") return result(v.status, start, v.code, v.info);
          let n: number | null;
          try {
            n = await c.read(buf.subarray(used));
          } catch (err) {
            if (signal?.aborted) throw signal.reason;
            if (timedOut) {
              const st = rule.toutStatus ?? "L7TOUT";
              return result(st, start, undefined, stepInfo(step, rule.text));
            }
            if (used === 0) {
              return result("L4CON", start, undefined, errorInfo(err) + stepInfo(step, rule.text));
            }
            n = null;
          }
          if (n === null) eof = true;
          else used += n;
        }
        lastKind = "expect";
        if (last) {
          const ok = rule.okStatus ?? "L7OK";
          const info = rule.onSuccess ?? (proto ? undefined : "(tcp-check)");
          return result(ok, start, ok === "L7OK" ? 0 : undefined, info);
        }
      }
      if (lastKind === "connect" || lastKind === null) return result("L4OK", start);
      return result("L7OK", start, 0, proto ? undefined : "(tcp-check)");
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      return result("SOCKERR", start, undefined, errorInfo(err));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      close();
      buf = new Uint8Array(0);
    }
  }

  /** One expect rule on what was read so far. */
  private judge(
    rule: ExpectRule,
    got: Uint8Array,
    final: boolean,
    last: boolean,
    step: number,
  ): "wait" | "continue" | { status: CheckStatus; code?: number; info?: string } {
    const errorStatus = rule.errorStatus ?? "L7RSP";
    const code = errorStatus === "L7STS" ? 0 : undefined;
    if (rule.custom) {
      const v = rule.custom(got, final, last);
      return v;
    }
    if (got.length === 0) {
      if (!final) return "wait";
      return { status: errorStatus, code, info: `TCPCHK got an empty response at step ${step}` };
    }
    if (rule.minRecv > 0 && got.length < rule.minRecv && !final) return "wait";
    const found = rule.find!(got);
    if (found !== rule.negate) return "continue";
    if (!found && !final && rule.minRecv === -1) return "wait";
    const info = rule.onError
      ? rule.onError(got)
      : this.set.proto
      ? undefined
      : `TCPCHK ${
        found ? "matched unwanted content" : "did not match content"
      }${rule.what} at step ${step}`;
    return { status: errorStatus, code, info };
  }
}

/** `option tcp-check` with its `tcp-check` lines (none: a plain connect, L4OK). */
export function tcpCheckChecker(rules: readonly TcpCheckRule[]): TcpCheckChecker {
  return new TcpCheckChecker({ rules: rulesOf(rules), proto: false });
}
