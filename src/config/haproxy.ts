// Stable entry point of the HAProxy .cfg parser; the parser lives in src/config/haproxy/.
export { looksLikeHaproxy, parseHaproxy, sameNode } from "./haproxy/parse.ts";
export type { HaproxyParseOptions, HaproxyParseResult } from "./haproxy/parse.ts";
