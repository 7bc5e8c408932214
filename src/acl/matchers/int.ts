// `int`: integer patterns with HAProxy's operators. `eq|ge|gt|le|lt` applies to the values
// after it; a value may be N, a range A:B, :B or A:. The test is true if any pattern is.
import { AclError, matchers } from "../types.ts";

const OPERATORS = new Set(["eq", "ge", "gt", "le", "lt"]);
const INT = /^[+-]?\d+$/;

/** Compiles integer patterns to one test; throws AclError naming the bad word. */
export function compileIntPatterns(patterns: readonly string[]): (n: number) => boolean {
  const tests: ((n: number) => boolean)[] = [];
  let op = "eq";
  patterns.forEach((p, i) => {
    if (OPERATORS.has(p)) {
      op = p;
      return;
    }
    const colon = p.indexOf(":");
    if (colon !== -1) {
      const lo = p.slice(0, colon);
      const hi = p.slice(colon + 1);
      if ((lo !== "" && !INT.test(lo)) || (hi !== "" && !INT.test(hi)) || (lo + hi === "")) {
        throw new AclError(`invalid integer range '${p}'`, { patternIndex: i });
      }
      if (op !== "eq") {
        throw new AclError(`operator '${op}' cannot be used with the range '${p}'`, {
          patternIndex: i,
        });
      }
      const a = lo === "" ? -Infinity : Number(lo);
      const b = hi === "" ? Infinity : Number(hi);
      tests.push((n) => n >= a && n <= b);
      return;
    }
    if (!INT.test(p)) {
      throw new AclError(
        `'${p}' is neither an integer nor an operator (eq, ge, gt, le, lt)`,
        { patternIndex: i },
      );
    }
    const v = Number(p);
    switch (op) {
      case "eq":
        tests.push((n) => n === v);
        break;
      case "ge":
        tests.push((n) => n >= v);
        break;
      case "gt":
        tests.push((n) => n > v);
        break;
      case "le":
        tests.push((n) => n <= v);
        break;
      case "lt":
        tests.push((n) => n < v);
        break;
    }
  });
  if (tests.length === 0 && patterns.length > 0) {
    throw new AclError(`operator '${op}' needs a value`, { patternIndex: patterns.length - 1 });
  }
  if (tests.length === 1) return tests[0];
  return (n) => {
    for (const t of tests) if (t(n)) return true;
    return false;
  };
}

matchers.set("int", {
  input: "int",
  compile(patterns) {
    const test = compileIntPatterns(patterns);
    return (v) => test(v as number);
  },
});
