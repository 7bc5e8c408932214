// The program's own diagnostic log (not the HAProxy-style traffic/event log): LogTape
// (npm:@logtape/logtape) loggers under the "wtproxy" category, written to stderr through a
// non-blocking, bounded, batched writer. Every room takes its logger with
// `diag("proxy")`, `diag("health")`, … and logs with LogTape's message templates:
//   diag("health").warn("check of {server} failed: {reason}", { server, reason });
// Level: setupDiag({ level }) or the WTPROXY_LOG_LEVEL environment variable
// (trace|debug|info|warning|error|fatal; default info). WTPROXY_LOG_FORMAT=json gives JSON lines.

import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  isLogLevel,
  type Logger,
  type LogLevel,
  type LogRecord,
  resetSync,
  type TextFormatter,
} from "@logtape/logtape";
import { type ByteWriter, StreamTransport } from "./sink.ts";

export interface DiagOptions {
  /** Lowest level written; default WTPROXY_LOG_LEVEL or "info". */
  level?: LogLevel;
  /** "text" (default, or WTPROXY_LOG_FORMAT) or "json" (one JSON object per line). */
  format?: "text" | "json";
  /** Where lines go; default Deno.stderr. */
  writer?: ByteWriter;
}

let transport: StreamTransport | null = null;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}

/** Configures LogTape for the "wtproxy" category (replacing any earlier configuration). */
export function setupDiag(opts: DiagOptions = {}): void {
  const envLevel = env("WTPROXY_LOG_LEVEL");
  const level: LogLevel = opts.level ??
    (envLevel && isLogLevel(envLevel) ? envLevel : "info");
  const format = opts.format ?? (env("WTPROXY_LOG_FORMAT") === "json" ? "json" : "text");
  const formatter: TextFormatter = format === "json"
    ? getJsonLinesFormatter()
    : getTextFormatter({ timestamp: "date-time-tz" });
  const out = new StreamTransport("stderr", opts.writer ?? Deno.stderr);
  const encoder = new TextEncoder();
  const sink = (record: LogRecord) => {
    out.send(encoder.encode(formatter(record)));
  };
  const old = transport;
  transport = out;
  old?.close(200);
  configureSync({
    reset: true,
    sinks: { stderr: sink },
    loggers: [
      { category: ["wtproxy"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** The diagnostic logger of a room: category ["wtproxy", ...category]. Sets up on first use. */
export function diag(...category: string[]): Logger {
  if (transport === null) setupDiag();
  return getLogger(["wtproxy", ...category]);
}

/** Flushes what is queued (bounded) and removes the configuration. */
export async function stopDiag(timeoutMs = 500): Promise<void> {
  const t = transport;
  transport = null;
  resetSync();
  await t?.close(timeoutMs);
}
