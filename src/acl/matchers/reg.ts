// `reg`: regular expressions, compiled once at load (JavaScript syntax; HAProxy uses PCRE,
// the common subset behaves the same). `-i` adds the `i` flag.
import { AclError, matchers } from "../types.ts";

matchers.set("reg", {
  input: "str",
  compile(patterns, opts) {
    const res = patterns.map((p, i) => {
      try {
        return new RegExp(p, opts.ignoreCase ? "i" : "");
      } catch (err) {
        throw new AclError(`invalid regex '${p}': ${(err as Error).message}`, { patternIndex: i });
      }
    });
    return (v) => {
      for (const re of res) if (re.test(v as string)) return true;
      return false;
    };
  },
});
