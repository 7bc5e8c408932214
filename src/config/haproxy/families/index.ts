// The keyword families, merged into the tables the parser reads. A new family of keywords is
// one file exporting a `Family` (types.ts) plus one line in FAMILIES. A later family wins on
// a keyword both declare, so an implementation registered after the refusal tables replaces
// the refusal (still, delete the refusal entry when you implement a keyword).
import { BIND } from "./bind.ts";
import { BIND_PARAM_NAMES } from "./bind_params.ts";
import { CHECKS } from "./checks.ts";
import { ERRORS } from "./errors.ts";
import { GLOBAL } from "./global.ts";
import { HTTP_CHECK } from "./http_check.ts";
import { HTTP_RULES } from "./http_rules.ts";
import { LOG } from "./log.ts";
import { LOG_FORMATS } from "./log_formats.ts";
import { MISC } from "./misc.ts";
import { OPTION } from "./option.ts";
import { OPTION_NAMES } from "./option_names.ts";
import { PERSISTENCE } from "./persistence.ts";
import { PROCESS } from "./process.ts";
import { PROXY } from "./proxy.ts";
import { PROXY_PROTOCOL } from "./proxy_protocol.ts";
import { RESOLVERS } from "./resolvers.ts";
import { ROUTING } from "./routing.ts";
import { SERVER } from "./server.ts";
import { SERVER_PARAM_NAMES } from "./server_params.ts";
import { STATS } from "./stats.ts";
import { TCP_RULES } from "./tcp_rules.ts";
import { TCP_CHECK } from "./tcp_check.ts";
import { TCP_REQUEST } from "./tcp_request.ts";
import { TIMEOUT_NAMES } from "./timeout_names.ts";
import { TLS } from "./tls.ts";
import { WT_SESSIONS } from "./wt_sessions.ts";
import { MONITOR } from "./monitor.ts";
import type {
  Family,
  GlobalDirective,
  OptionSpec,
  ParamSpec,
  ProxyDirective,
  SectionReader,
  TimeoutSpec,
  Unsupported,
} from "./types.ts";

const FAMILIES: Family[] = [
  // what wtproxy does not implement
  MISC,
  PROCESS,
  TLS,
  CHECKS,
  PROXY_PROTOCOL,
  HTTP_RULES,
  TCP_RULES,
  PERSISTENCE,
  ERRORS,
  RESOLVERS,
  STATS,
  LOG_FORMATS,
  // what it implements
  GLOBAL,
  LOG,
  PROXY,
  OPTION,
  OPTION_NAMES,
  TIMEOUT_NAMES,
  ROUTING,
  BIND,
  BIND_PARAM_NAMES,
  SERVER,
  SERVER_PARAM_NAMES,
  HTTP_CHECK,
  WT_SESSIONS,
  TCP_CHECK,
  TCP_REQUEST,
  MONITOR,
];

function merged<K extends keyof Family>(key: K): NonNullable<Family[K]> {
  return Object.assign({}, ...FAMILIES.map((f) => f[key] ?? {}));
}
function listed(key: "negatable" | "proxyOnly"): ReadonlySet<string> {
  return new Set(FAMILIES.flatMap((f) => f[key] ?? []));
}

export const SECTION_WORDS: ReadonlySet<string> = new Set([
  "global",
  "defaults",
  "frontend",
  "backend",
  "listen",
  "resolvers",
]);
export const OTHER_SECTIONS: Record<string, string> = merged("sections");
export const SECTION_READERS: Record<string, SectionReader> = merged("sectionReaders");
export const PROXY_DIRECTIVES: Record<string, ProxyDirective> = merged("proxyDirectives");
export const GLOBAL_DIRECTIVES: Record<string, GlobalDirective> = merged("globalDirectives");
export const NEGATABLE: ReadonlySet<string> = listed("negatable");
export const PROXY_ONLY: ReadonlySet<string> = listed("proxyOnly");
export const GLOBAL_KEYWORDS: Record<string, Unsupported> = merged("global");
export const PROXY_KEYWORDS: Record<string, Unsupported> = merged("proxy");
export const REMOVED_21: Record<string, string> = merged("removed");
export const OPTIONS: Record<string, OptionSpec> = merged("options");
export const TIMEOUTS: Record<string, TimeoutSpec> = merged("timeouts");
export const SERVER_PARAMS: Record<string, ParamSpec> = merged("server");
export const BIND_PARAMS: Record<string, ParamSpec> = merged("bind");
