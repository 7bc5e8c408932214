// HAProxy time values: a bare integer is milliseconds; a unit suffix us|ms|s|m|h|d may follow.
// Decimals are refused (HAProxy refuses them too); microseconds are rounded up to whole ms so
// that "500us" never silently becomes 0 (which would mean "no timeout").
import type { Millis } from "./model.ts";

/** Largest timer HAProxy accepts (2^31-1 ms, about 24.8 days); longer ones overflow timers. */
export const MAX_DURATION_MS = 2147483647;

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Why a duration was refused; the text is meant to follow "timeouts.connect: ". */
export class DurationError extends Error {
  override name = "DurationError";
}

/**
 * Parses `5000`, `"5000"`, `"1500ms"`, `"5s"`, `"2m"`, `"1h"`, `"1d"`, `"500us"` into
 * milliseconds. Throws DurationError with a message that shows the accepted forms.
 */
export function parseDuration(input: string | number): Millis {
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input < 0) {
      throw new DurationError(
        `invalid duration ${input}: expected a whole number of milliseconds >= 0 or a value with a unit such as "5s"`,
      );
    }
    return checkRange(input, String(input));
  }
  const text = input.trim();
  const m = /^(\d+)([a-zA-Z]*)$/.exec(text);
  if (!m) {
    const hint = /^\d+\.\d+/.test(text)
      ? " (decimals are not allowed: write 1500ms instead of 1.5s)"
      : text.startsWith("-")
      ? " (a duration cannot be negative)"
      : "";
    throw new DurationError(
      `invalid duration "${input}"${hint}: expected a number of milliseconds or a number with a unit us, ms, s, m, h or d (e.g. 5000, "1500ms", "5s")`,
    );
  }
  const unit = m[2];
  const factor = unit === "" ? 1 : UNIT_MS[unit];
  if (factor === undefined) {
    throw new DurationError(
      `invalid duration "${input}": unknown unit "${unit}" (use us, ms, s, m, h or d)`,
    );
  }
  return checkRange(Math.ceil(Number(m[1]) * factor), input);
}

function checkRange(ms: number, text: string): Millis {
  if (ms > MAX_DURATION_MS) {
    throw new DurationError(
      `duration "${text}" is too large (at most ${MAX_DURATION_MS} ms, about 24.8 days)`,
    );
  }
  return ms;
}
