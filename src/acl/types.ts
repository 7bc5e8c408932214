// The ACL room's two extension points: a Fetch extracts a sample from the request (HAProxy's
// "sample fetch"), a Matcher compares it with the ACL's patterns (HAProxy's "match method",
// `-m`). Each lives in one file under fetches/ or matchers/ and registers itself here;
// builtins.ts is the list of those files.
import type { RequestInfo } from "../proxy/request.ts";
import type { RouteContext } from "./router.ts";

/** Sample types, as HAProxy names them. */
export type SampleType = "str" | "int" | "ip" | "bool";

/** One sample value; null = the fetch found nothing (the ACL test is then false). */
export type Sample = string | number | boolean | null;

/** What a compiled fetch returns: one sample, or all of them for multi-valued fetches. */
export type SampleFn = (req: RequestInfo, ctx: RouteContext) => Sample | readonly Sample[];

/** What fetches may check while compiling (validation knows the backend names). */
export interface CompileEnv {
  /** Backends of the configuration; undefined when not known (no check). */
  backendNames?: ReadonlySet<string>;
}

export interface Fetch {
  /** Type of the values it returns; decides the default matcher. */
  type: SampleType;
  /** Arguments accepted inside the parentheses. */
  minArgs: number;
  maxArgs: number;
  /** Returns every occurrence (hdr, url_param): the test is true if any one matches. */
  multi?: boolean;
  /** Compiles once at load. Throws AclError (argIndex set) for a bad argument. */
  compile(args: readonly string[], env: CompileEnv): SampleFn;
  /** Where it differs from HAProxy's fetch: a warning at every use in a condition. */
  caveat?: string;
}

/** A single, non-null sample as handed to a matcher (already converted to its input type). */
export type Value = string | number | boolean;

export interface MatchOptions {
  /** `-i`: fold case (string matchers only). */
  ignoreCase: boolean;
}

export interface Matcher {
  /** Type the samples are converted to before matching. */
  input: SampleType;
  /** Takes no patterns (`found`, `bool`). */
  noPatterns?: boolean;
  /** Compiles the patterns once. Throws AclError (patternIndex set) for a bad one. */
  compile(patterns: readonly string[], opts: MatchOptions): (value: Value) => boolean;
}

/** A problem in an ACL or condition; the indexes say which word to point at. */
export class AclError extends Error {
  constructor(
    message: string,
    readonly where: { argIndex?: number; patternIndex?: number } = {},
  ) {
    super(message);
    this.name = "AclError";
  }
}

/** Fetch keyword -> fetch ("url", "hdr", "nbsrv", ...). */
export const fetches = new Map<string, Fetch>();

/** Match method -> matcher ("str", "sub", "beg", "int", "ip", ...). */
export const matchers = new Map<string, Matcher>();

/**
 * Keyword suffixes that pick a matcher: `path_beg` = `path -m beg`. `val` reads the string
 * as an integer (`hdr_val`), like HAProxy's derived keywords.
 */
export const matchSuffixes = new Map<string, string>([
  ["sub", "sub"],
  ["beg", "beg"],
  ["end", "end"],
  ["reg", "reg"],
  ["dir", "dir"],
  ["dom", "dom"],
  ["len", "len"],
  ["val", "int"],
  ["found", "found"],
]);
