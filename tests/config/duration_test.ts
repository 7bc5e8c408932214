import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { DurationError, parseDuration } from "../../src/config/duration.ts";

Deno.test("durations: bare numbers are milliseconds, units us|ms|s|m|h|d", () => {
  const cases: [string | number, number][] = [
    [5000, 5000],
    ["5000", 5000],
    ["1500ms", 1500],
    ["5s", 5000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1500us", 2], // rounded up: never 0 by accident
    ["0", 0],
  ];
  for (const [input, ms] of cases) assertEquals(parseDuration(input), ms, String(input));
});

Deno.test("durations: bad values say what is accepted", () => {
  const cases: [string | number, string][] = [
    ["5x", 'invalid duration "5x": unknown unit "x" (use us, ms, s, m, h or d)'],
    ["1.5s", "decimals are not allowed: write 1500ms instead of 1.5s"],
    ["-1s", "a duration cannot be negative"],
    ["soon", 'invalid duration "soon": expected a number of milliseconds or a number with a unit'],
    ["", 'invalid duration ""'],
    [1.5, "expected a whole number of milliseconds"],
    ["30d", 'duration "30d" is too large (at most 2147483647 ms, about 24.8 days)'],
  ];
  for (const [input, text] of cases) {
    throws(() => parseDuration(input), (err: Error) => {
      assertEquals(err instanceof DurationError, true);
      assertEquals(err.message.includes(text), true, `${input}: ${err.message}`);
      return true;
    });
  }
});
