// Where a keyword family adds its YAML keys and their validation without touching the section
// readers: one file exporting a SectionRule, plus one line in the list of its section below.
// Keys that `defaults` must pass down (like timeouts) belong in settings.ts instead.
import type {
  AdminConfig,
  BackendConfig,
  FrontendConfig,
  GlobalSection,
  ServerConfig,
  SrcEntry,
} from "../model.ts";
import type { Reader } from "./reader.ts";
import { BACKEND_COOKIE, SERVER_COOKIE } from "./cookie.ts";
import { BACKEND_HTTP_RULES, CHECK_HTTP_RULES, FRONTEND_HTTP_RULES } from "./http_rules.ts";
import { GLOBAL_NBTHREAD } from "./nbthread.ts";
import { WT_SESSIONS } from "./wt_sessions.ts";
import { TCP_REQUEST } from "./tcp_request.ts";
import { MODES } from "./modes.ts";
import { BACKEND_ERRORFILES, FRONTEND_ERRORFILES } from "./errorfiles.ts";
import { BACKEND_STATS, FRONTEND_STATS } from "./stats.ts";
import { FRONTEND_MONITOR } from "./monitor.ts";

export interface SectionRule<T> {
  /** The keys it reads (added to the section's known keys, so typos get "did you mean"). */
  keys: readonly string[];
  /** Reads its keys from the section's fields `f` (at `path`, e.g. "frontends.www") into
   * `out`, reporting problems with r.error/r.warn at the value's location. */
  read(r: Reader, f: Map<string, SrcEntry>, path: string, out: T): void;
}

/** A check across sections, run once every section is read (unknown names, clashes...). */
export type CrossRule = (
  r: Reader,
  frontends: FrontendConfig[],
  backends: BackendConfig[],
  admin: AdminConfig | null,
) => void;

export const GLOBAL_RULES: SectionRule<GlobalSection>[] = [GLOBAL_NBTHREAD, WT_SESSIONS];
export const FRONTEND_RULES: SectionRule<FrontendConfig>[] = [
  FRONTEND_HTTP_RULES,
  TCP_REQUEST,
  FRONTEND_ERRORFILES,
  FRONTEND_STATS,
  FRONTEND_MONITOR,
];
export const BACKEND_RULES: SectionRule<BackendConfig>[] = [
  BACKEND_COOKIE,
  BACKEND_HTTP_RULES,
  BACKEND_ERRORFILES,
  BACKEND_STATS,
];
export const SERVER_RULES: SectionRule<ServerConfig>[] = [SERVER_COOKIE];
export const CROSS_RULES: CrossRule[] = [CHECK_HTTP_RULES, MODES];

/** The section's own keys plus those of its rules. */
export function withRules<T>(keys: readonly string[], rules: SectionRule<T>[]): string[] {
  return [...keys, ...rules.flatMap((x) => x.keys)];
}
/** Runs the section's rules on what was built. */
export function applyRules<T>(
  r: Reader,
  rules: SectionRule<T>[],
  f: Map<string, SrcEntry>,
  path: string,
  out: T,
): T {
  for (const rule of rules) rule.read(r, f, path, out);
  return out;
}
