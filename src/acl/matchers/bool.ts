// Pattern-less match methods: `bool` (the sample is true / non-zero) and `found` (the fetch
// returned something, whatever its value).
import { matchers } from "../types.ts";

matchers.set("bool", {
  input: "bool",
  noPatterns: true,
  compile: () => (v) => v === true,
});
matchers.set("found", {
  input: "str",
  noPatterns: true,
  compile: () => () => true,
});
