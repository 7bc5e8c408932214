// `-m bin`: the sample's bytes (binary fetches such as req.payload, as latin1 strings) equal a
// pattern written in hexadecimal ("474554" = "GET").
import { AclError, matchers, type Value } from "../types.ts";

matchers.set("bin", {
  input: "str",
  compile(patterns) {
    const pats = patterns.map((p, i) => {
      if (p.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(p)) {
        throw new AclError(`'${p}' is not a hexadecimal string`, { patternIndex: i });
      }
      let s = "";
      for (let j = 0; j < p.length; j += 2) {
        s += String.fromCharCode(parseInt(p.slice(j, j + 2), 16));
      }
      return s;
    });
    return (value: Value) => pats.includes(value as string);
  },
});
