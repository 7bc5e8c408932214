// Stable entry point of the HAProxy .cfg parser; the parser lives in src/config/haproxy/.
export { looksLikeHaproxy, parseHaproxy, sameNode } from "./haproxy/parse.ts";
export type { HaproxyParseOptions } from "./haproxy/parse.ts";
