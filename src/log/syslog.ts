// Syslog codes and HAProxy's `local` RFC 3164 datagram: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG\n`
// (no hostname field, day space-padded, local time, at most 1024 bytes with the LF).

import type { Facility, Level, LogTarget } from "../config/model.ts";

export const FACILITY_CODES: Readonly<Record<Facility, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  auth2: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  cron2: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** Severity codes: emerg 0 (most severe) … debug 7. */
export const LEVEL_CODES: Readonly<Record<Level, number>> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** PRI = facility × 8 + severity. */
export function pri(facility: Facility, level: Level): number {
  return FACILITY_CODES[facility] * 8 + LEVEL_CODES[level];
}

/**
 * Whether `target` takes a message at `level`: the level is at least as severe as
 * `target.level` (HAProxy's 3rd field, a maximum) and no more severe than `target.minLevel`
 * (the optional 4th field). `log 127.0.0.1 local1 notice` takes emerg..notice, not info.
 */
export function targetAccepts(
  target: Pick<LogTarget, "level" | "minLevel">,
  level: Level,
): boolean {
  const sev = LEVEL_CODES[level];
  return sev <= LEVEL_CODES[target.level] && sev >= LEVEL_CODES[target.minLevel];
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

let stampSecond = NaN;
let stamp = "";

/** RFC 3164 timestamp `Mmm dd hh:mm:ss` (day space-padded, local time), cached per second. */
export function syslogTimestamp(epochMs: number): string {
  const sec = Math.floor(epochMs / 1000);
  if (sec !== stampSecond) {
    const d = new Date(sec * 1000);
    const day = d.getDate();
    stamp = `${MONTHS[d.getMonth()]} ${day < 10 ? " " + day : day} ${pad2(d.getHours())}:${
      pad2(d.getMinutes())
    }:${pad2(d.getSeconds())}`;
    stampSecond = sec;
  }
  return stamp;
}

/** HAProxy's default maximum datagram length (`log ... len 1024`). */
export const DEFAULT_MAX_LEN = 1024;

const encoder = new TextEncoder();

/**
 * Encodes one datagram (or line) and cuts it to `maxLen` bytes, keeping the trailing LF, the
 * way HAProxy truncates long lines. `line` must end with "\n".
 */
export function encodeLine(line: string, maxLen = DEFAULT_MAX_LEN): Uint8Array {
  const bytes = encoder.encode(line);
  if (bytes.length <= maxLen) return bytes;
  const cut = bytes.slice(0, maxLen);
  cut[maxLen - 1] = 0x0a;
  return cut;
}

const SLAB = 64 * 1024;
let slab = new Uint8Array(SLAB);
let slabUsed = 0;

/**
 * encodeLine's result, written into a shared 64 KiB slab and returned as a view of it: no
 * ArrayBuffer per line (allocating one costs more than formatting the whole line). A slab is
 * never rewritten (a new one replaces it when full), so a view stays valid while queued.
 */
export function encodeLineShared(line: string, maxLen = DEFAULT_MAX_LEN): Uint8Array {
  const room = Math.min(maxLen, line.length * 3);
  if (room > SLAB / 8) return encodeLine(line, maxLen);
  if (room > SLAB - slabUsed) {
    slab = new Uint8Array(SLAB);
    slabUsed = 0;
  }
  const at = slabUsed;
  const { read, written } = encoder.encodeInto(line, slab.subarray(at, at + room));
  if (read < line.length) return encodeLine(line, maxLen); // cut: HAProxy's exact byte cut
  slabUsed = at + written;
  return slab.subarray(at, at + written);
}

/** The full `local`-format datagram text: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG\n`. */
export function formatSyslog(
  facility: Facility,
  level: Level,
  tag: string,
  pid: number,
  message: string,
  epochMs: number,
): string {
  return "<" + pri(facility, level) + ">" + syslogTimestamp(epochMs) + " " + tag + "[" + pid +
    "]: " + message + "\n";
}
