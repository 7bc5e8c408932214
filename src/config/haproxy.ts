// HAProxy .cfg text -> located SrcNode tree of the YAML schema (docs/yaml-schema.md).
//
// This file does the HAProxy-syntax part only: words, quotes, escapes, environment variables,
// sections, `defaults` inheritance, legacy keywords, and a warning or an error for every
// directive wtproxy does not implement (tables below). Semantic checks (unknown backend,
// track cycles, bad durations or addresses) are done once for YAML and .cfg by build.ts.
//
// Several `defaults` sections: the first one becomes the YAML `defaults`; every proxy then
// carries, on top of its own lines, the settings where its `defaults` differs from the first,
// so that cfg -> tree -> model and cfg -> YAML -> model give the same model.
import type { Diagnostic, Loc, SrcEntry, SrcMap, SrcNode, SrcScalar, SrcSeq } from "./model.ts";
import { FACILITIES, LEVELS } from "./model.ts";
import { parseAddress } from "./address.ts";
import { BUILTIN_INTER, BUILTIN_MAXCONN, BUILTIN_RETRIES, BUILTIN_SERVER } from "./defaults.ts";

export interface HaproxyParseOptions {
  /** Environment lookup for "${VAR}" (default: Deno.env, unset when not permitted). */
  env?: (name: string) => string | undefined;
}

/** Parses an HAProxy configuration into the tree build.ts validates (see the file comment). */
export function parseHaproxy(
  text: string,
  file: string,
  opts: HaproxyParseOptions = {},
): { tree: SrcNode; diagnostics: Diagnostic[] } {
  return new CfgParser(text, file, opts).run();
}

const SECTION_WORDS = new Set(["global", "defaults", "frontend", "backend", "listen"]);
/** Other HAProxy sections: skipped as a whole, with one warning each. */
const OTHER_SECTIONS: Record<string, string> = {
  userlist: "wtproxy has no HTTP authentication ('http-request auth' is not supported either)",
  peers: "wtproxy has no stick tables to synchronise",
  resolvers: "wtproxy resolves server names with the system resolver",
  mailers: "wtproxy sends no e-mail alerts; watch its log or metrics instead",
  program: "start such programs from your service manager (systemd, the container runtime)",
  "http-errors": "wtproxy serves its built-in error pages",
  ring: "wtproxy logs to syslog (UDP or unix socket) or stdout only",
  cache: "wtproxy has no HTTP cache",
  "fcgi-app": "wtproxy speaks HTTP to servers, not FastCGI",
};

/** True when the text looks like an HAProxy configuration rather than YAML. */
export function looksLikeHaproxy(text: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "" || line === "---") continue;
    const m = /^([A-Za-z_.-]+)(\s|$)/.exec(line);
    return m !== null && (SECTION_WORDS.has(m[1]) || m[1] in OTHER_SECTIONS) &&
      !/^[A-Za-z_.-]+\s*:/.test(line);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Words

interface Word {
  /** After quotes, escapes and environment variables are processed. */
  text: string;
  /** 1-based column of the word's first character in the line. */
  col: number;
  /** 0-based index just after the word's last character in the line. */
  end: number;
  /** The word contained quotes, escapes or variables (its raw text differs from `text`). */
  processed: boolean;
  /** An environment variable was expanded in it. */
  expanded?: boolean;
}

interface Line {
  no: number;
  raw: string;
  words: Word[];
  /** Text after an unprotected "#" (without it), or null. */
  comment: string | null;
}

const VAR_NAME = /^(?:\.[A-Z]+|[A-Za-z_][A-Za-z0-9_]*)/;

// ---------------------------------------------------------------------------------------------
// Directive tables: what wtproxy does with each HAProxy keyword it does not implement.
// "warn": ignored, with a warning (running without it changes nothing that matters to traffic,
// routing, health or security). "error": refused (running without it would behave differently).

interface Unsupported {
  level: "warn" | "error";
  why: string;
}

const PRIVILEGE = "privilege dropping and daemonising belong to the service manager " +
  "(systemd User=/Group=, the container's user); wtproxy stays in the foreground " +
  "with the user that started it";

const GLOBAL_KEYWORDS: Record<string, Unsupported> = {
  user: { level: "warn", why: PRIVILEGE },
  group: { level: "warn", why: PRIVILEGE },
  uid: { level: "warn", why: PRIVILEGE },
  gid: { level: "warn", why: PRIVILEGE },
  daemon: { level: "warn", why: PRIVILEGE },
  chroot: { level: "warn", why: "confine the process with the service manager or container" },
  pidfile: { level: "warn", why: "the service manager tracks the process" },
  "master-worker": {
    level: "warn",
    why: "wtproxy is one process; the service manager restarts it",
  },
  nbproc: { level: "warn", why: "wtproxy runs one process" },
  nbthread: { level: "warn", why: "wtproxy runs one event loop" },
  "cpu-map": { level: "warn", why: "wtproxy runs one event loop" },
  "thread-groups": { level: "warn", why: "wtproxy runs one event loop" },
  "ulimit-n": { level: "warn", why: "set LimitNOFILE= in the service manager" },
  node: { level: "warn", why: "the stats page shows no node name" },
  description: { level: "warn", why: "the stats page shows no description" },
  quiet: { level: "warn", why: "wtproxy prints what it prints" },
  debug: { level: "warn", why: "wtproxy has no debug mode" },
  "zero-warning": { level: "warn", why: "not supported" },
  "set-dumpable": { level: "warn", why: "not supported" },
  "strict-limits": { level: "warn", why: "not supported" },
  "hard-stop-after": { level: "warn", why: "wtproxy drains connections for a fixed grace time" },
  grace: { level: "warn", why: "wtproxy drains connections for a fixed grace time" },
  stats: { level: "warn", why: "wtproxy serves stats and runtime commands on the admin listener" },
  "spread-checks": { level: "warn", why: "wtproxy spreads health checks over the interval" },
  "max-spread-checks": { level: "warn", why: "wtproxy spreads health checks over the interval" },
  "log-send-hostname": { level: "warn", why: "syslog lines are sent without a hostname" },
  "ssl-default-bind-ciphers": { level: "warn", why: "wtproxy does not terminate TLS" },
  "ssl-default-bind-ciphersuites": { level: "warn", why: "wtproxy does not terminate TLS" },
  "ssl-default-bind-options": { level: "warn", why: "wtproxy does not terminate TLS" },
  "ssl-default-server-ciphers": { level: "warn", why: "wtproxy does not use TLS to servers" },
  "ssl-default-server-ciphersuites": { level: "warn", why: "wtproxy does not use TLS to servers" },
  "ssl-default-server-options": { level: "warn", why: "wtproxy does not use TLS to servers" },
  "ssl-dh-param-file": { level: "warn", why: "wtproxy does not terminate TLS" },
  "ssl-server-verify": { level: "warn", why: "wtproxy does not use TLS to servers" },
  "ca-base": { level: "warn", why: "wtproxy does not use TLS" },
  "crt-base": { level: "warn", why: "wtproxy does not use TLS" },
  maxsslconn: { level: "warn", why: "wtproxy does not use TLS" },
  maxconnrate: { level: "warn", why: "wtproxy limits concurrent connections only (maxconn)" },
  maxsessrate: { level: "warn", why: "wtproxy limits concurrent connections only (maxconn)" },
  maxsslrate: { level: "warn", why: "wtproxy does not use TLS" },
  maxpipes: { level: "warn", why: "wtproxy does not splice" },
  "server-state-file": { level: "warn", why: "wtproxy keeps server states across reloads itself" },
  "server-state-base": { level: "warn", why: "wtproxy keeps server states across reloads itself" },
  "h1-case-adjust": { level: "warn", why: "header names are sent lower-cased" },
  "h1-case-adjust-file": { level: "warn", why: "header names are sent lower-cased" },
  "unix-bind": { level: "warn", why: "wtproxy listens on TCP only" },
  localpeer: { level: "warn", why: "wtproxy has no peers" },
  "expose-experimental-directives": { level: "warn", why: "not needed" },
  "insecure-fork-wanted": { level: "warn", why: "not needed" },
  "busy-polling": { level: "warn", why: "not supported" },
  noepoll: { level: "warn", why: "not supported" },
  nopoll: { level: "warn", why: "not supported" },
  nosplice: { level: "warn", why: "not supported" },
  "lua-load": { level: "error", why: "wtproxy does not run Lua scripts" },
  "lua-load-per-thread": { level: "error", why: "wtproxy does not run Lua scripts" },
  "lua-prepend-path": { level: "error", why: "wtproxy does not run Lua scripts" },
  "external-check": { level: "error", why: "wtproxy does not run external check programs" },
};

const TLS = "wtproxy does not terminate TLS: put it behind a TLS terminator or use HTTP";

/** Proxy keywords not implemented. `tune.*` is handled by prefix. */
const PROXY_KEYWORDS: Record<string, Unsupported> = {
  "http-request": { level: "error", why: "HTTP request rules are not supported" },
  "http-response": { level: "error", why: "HTTP response rules are not supported" },
  "http-after-response": { level: "error", why: "HTTP response rules are not supported" },
  "http-error": { level: "error", why: "custom error responses are not supported" },
  redirect: { level: "error", why: "redirects are not supported" },
  cookie: { level: "error", why: "cookie persistence is not supported (use URL affinity)" },
  appsession: { level: "error", why: "cookie persistence is not supported (use URL affinity)" },
  "stick-table": { level: "error", why: "stick tables are not supported" },
  stick: { level: "error", why: "stickiness rules are not supported" },
  "tcp-request": { level: "error", why: "TCP rules are not supported" },
  "tcp-response": { level: "error", why: "TCP rules are not supported" },
  "tcp-check": { level: "error", why: "TCP check scripts are not supported" },
  "use-server": { level: "error", why: "'use-server' rules are not supported" },
  errorfile: { level: "error", why: "wtproxy serves its built-in error pages" },
  errorfiles: { level: "error", why: "wtproxy serves its built-in error pages" },
  errorloc: { level: "error", why: "wtproxy serves its built-in error pages" },
  errorloc302: { level: "error", why: "wtproxy serves its built-in error pages" },
  errorloc303: { level: "error", why: "wtproxy serves its built-in error pages" },
  "monitor-uri": { level: "error", why: "monitor URIs are not supported" },
  monitor: { level: "error", why: "monitor rules are not supported" },
  "monitor-net": { level: "error", why: "monitor rules are not supported" },
  "unique-id-format": { level: "error", why: "unique request ids are not supported" },
  "unique-id-header": { level: "error", why: "unique request ids are not supported" },
  "http-send-name-header": { level: "error", why: "the server name header is not supported" },
  "server-template": { level: "error", why: "server templates are not supported" },
  dispatch: { level: "error", why: "'dispatch' is not supported: declare a 'server'" },
  source: { level: "error", why: "choosing the source address is not supported" },
  persist: { level: "error", why: "persistence is not supported" },
  "force-persist": { level: "error", why: "persistence is not supported" },
  "ignore-persist": { level: "error", why: "persistence is not supported" },
  "rate-limit": { level: "error", why: "rate limits are not supported" },
  filter: { level: "error", why: "filters are not supported" },
  "retry-on": { level: "error", why: "wtproxy retries on connection failures only" },
  "external-check": { level: "error", why: "external check programs are not supported" },
  disabled: { level: "error", why: "a disabled proxy would run: remove the section instead" },
  "use-fcgi-app": { level: "error", why: "wtproxy speaks HTTP to servers, not FastCGI" },
  "email-alert": { level: "warn", why: "wtproxy sends no e-mail alerts" },
  "http-reuse": { level: "warn", why: "server connections follow the http-server-close mode" },
  "hash-type": { level: "warn", why: "wtproxy uses its own hash for hash-based balancing" },
  capture: { level: "warn", why: "log lines carry no captured headers or cookies" },
  declare: { level: "warn", why: "log lines carry no captured headers or cookies" },
  "log-format": { level: "warn", why: "log lines use the httplog format" },
  "log-format-sd": { level: "warn", why: "log lines carry no structured data" },
  "error-log-format": { level: "warn", why: "log lines use the httplog format" },
  "log-tag": { level: "warn", why: "only the global 'log-tag' is used" },
  compression: { level: "warn", why: "responses are passed through uncompressed by wtproxy" },
  stats: { level: "warn", why: "wtproxy serves stats on the admin listener (YAML 'admin:')" },
  fullconn: { level: "warn", why: "server maxconn is not scaled dynamically" },
  "bind-process": { level: "warn", why: "wtproxy runs one process" },
  backlog: { level: "warn", why: "the listen backlog is the system default" },
  "max-keep-alive-queue": { level: "warn", why: "not supported" },
  "load-server-state-from-file": { level: "warn", why: "server states survive reloads anyway" },
  "server-state-file-name": { level: "warn", why: "server states survive reloads anyway" },
  description: { level: "warn", why: "the stats page shows no description" },
  id: { level: "warn", why: "proxies have no numeric ids" },
  enabled: { level: "warn", why: "proxies are enabled by default" },
  grace: { level: "warn", why: "wtproxy drains connections for a fixed grace time" },
};

/** Keywords HAProxy 2.1 removed, with HAProxy's own replacement hint. */
const REMOVED_21: Record<string, string> = {
  reqadd: "http-request add-header",
  reqallow: "http-request allow",
  reqdel: "http-request del-header",
  reqdeny: "http-request deny",
  reqiallow: "http-request allow",
  reqidel: "http-request del-header",
  reqideny: "http-request deny",
  reqipass: "http-request allow",
  reqirep: "http-request replace-header",
  reqisetbe: "use_backend",
  reqitarpit: "http-request tarpit",
  reqpass: "http-request allow",
  reqrep: "http-request replace-header",
  reqsetbe: "use_backend",
  reqtarpit: "http-request tarpit",
  rspadd: "http-response add-header",
  rspdel: "http-response del-header",
  rspdeny: "http-response deny",
  rspidel: "http-response del-header",
  rspideny: "http-response deny",
  rspirep: "http-response replace-header",
  rsprep: "http-response replace-header",
  block: "http-request deny",
};

type Cap = "fe" | "be" | "both";

interface OptionSpec {
  cap: Cap;
  /** Absent: implemented. */
  unsupported?: Unsupported;
}

const OPTIONS: Record<string, OptionSpec> = {
  httplog: { cap: "fe" },
  dontlognull: { cap: "fe" },
  "http-server-close": { cap: "both" },
  "http-pretend-keepalive": { cap: "be" },
  "http-keep-alive": { cap: "both" },
  httpclose: { cap: "both" },
  forwardfor: { cap: "both" },
  originalto: { cap: "both" },
  redispatch: { cap: "be" },
  httpchk: { cap: "be" },
  // ignored with a warning
  "log-health-checks": w("be", "health-check state changes are logged anyway"),
  tcplog: w("fe", "HTTP proxies log in the httplog format"),
  abortonclose: w("be", "a request whose client left is abandoned anyway"),
  checkcache: w("be", "responses are not inspected for cacheability"),
  clitcpka: w("fe", "TCP keep-alive probes are left to the system"),
  srvtcpka: w("be", "TCP keep-alive probes are left to the system"),
  tcpka: w("both", "TCP keep-alive probes are left to the system"),
  contstats: w("both", "counters are updated at the end of each transfer"),
  "dontlog-normal": w("fe", "every request is logged"),
  "http-buffer-request": w("both", "request bodies are streamed"),
  "http-ignore-probes": w("fe", "empty connections follow dontlognull"),
  "http-no-delay": w("both", "not needed"),
  "http-use-proxy-header": w("fe", "Proxy-Connection is not interpreted"),
  "http-use-htx": w("both", "not needed"),
  "independent-streams": w("both", "timeouts follow either direction"),
  "log-separate-errors": w("fe", "errors are logged at the normal level"),
  logasap: w("fe", "lines are logged when the transfer ends"),
  nolinger: w("both", "sockets are closed normally"),
  "prefer-last-server": w("be", "servers are picked by the balancer"),
  "socket-stats": w("fe", "stats are per frontend"),
  "splice-auto": w("both", "wtproxy does not splice"),
  "splice-request": w("both", "wtproxy does not splice"),
  "splice-response": w("both", "wtproxy does not splice"),
  "tcp-smart-accept": w("fe", "not needed"),
  "tcp-smart-connect": w("be", "not needed"),
  "disable-h2-upgrade": w("fe", "HTTP/2 is only spoken over TLS by the listener"),
  "h1-case-adjust-bogus-client": w("fe", "header names are sent lower-cased"),
  "h1-case-adjust-bogus-server": w("be", "header names are sent lower-cased"),
  "idle-close-on-response": w("fe", "not needed"),
  "accept-invalid-http-request": w("fe", "requests are parsed by Deno's HTTP server"),
  "accept-invalid-http-response": w("be", "responses are parsed strictly"),
  // refused
  allbackups: e("be", "wtproxy uses the first usable backup server only"),
  persist: e("be", "persistence is not supported"),
  transparent: e("be", "transparent proxying is not supported"),
  "tcp-check": e("be", "TCP check scripts are not supported (plain TCP checks are)"),
  "ssl-hello-chk": e("be", "only TCP and HTTP checks are supported"),
  smtpchk: e("be", "only TCP and HTTP checks are supported"),
  "mysql-check": e("be", "only TCP and HTTP checks are supported"),
  "pgsql-check": e("be", "only TCP and HTTP checks are supported"),
  "redis-check": e("be", "only TCP and HTTP checks are supported"),
  "ldap-check": e("be", "only TCP and HTTP checks are supported"),
  "spop-check": e("be", "only TCP and HTTP checks are supported"),
  "external-check": e("be", "only TCP and HTTP checks are supported"),
  http_proxy: e("both", "forward-proxy mode is not supported"),
  forwarded: e("both", "the Forwarded header is not supported (use option forwardfor)"),
  "http-restrict-req-hdr-names": e("both", "not supported"),
};
function w(cap: Cap, why: string): OptionSpec {
  return { cap, unsupported: { level: "warn", why } };
}
function e(cap: Cap, why: string): OptionSpec {
  return { cap, unsupported: { level: "error", why } };
}

const TIMEOUTS: Record<string, { cap: Cap; unsupported?: Unsupported }> = {
  client: { cap: "fe" },
  server: { cap: "be" },
  connect: { cap: "be" },
  check: { cap: "be" },
  queue: { cap: "be" },
  "http-keep-alive": { cap: "both" },
  "http-request": { cap: "both" },
  tunnel: { cap: "be" },
  tarpit: { cap: "both", unsupported: { level: "warn", why: "wtproxy has no tarpit" } },
  "client-fin": {
    cap: "fe",
    unsupported: { level: "warn", why: "half-closed connections use 'timeout client'" },
  },
  "server-fin": {
    cap: "be",
    unsupported: { level: "warn", why: "half-closed connections use 'timeout server'" },
  },
};

const LEGACY_TIMEOUTS: Record<string, string> = {
  contimeout: "connect",
  clitimeout: "client",
  srvtimeout: "server",
};

type ParamKind = "flag" | "value";
interface ParamSpec {
  kind: ParamKind;
  /** Implemented: the server key it sets ("check"), and for flags the value. */
  key?: string;
  flagValue?: boolean;
  /** Value type for the tree. */
  type?: "int" | "duration" | "string";
  unsupported?: Unsupported;
}

const SERVER_PARAMS: Record<string, ParamSpec> = {
  check: { kind: "flag", key: "check", flagValue: true },
  "no-check": { kind: "flag", key: "check", flagValue: false },
  track: { kind: "value", key: "track", type: "string" },
  weight: { kind: "value", key: "weight", type: "int" },
  backup: { kind: "flag", key: "backup", flagValue: true },
  "no-backup": { kind: "flag", key: "backup", flagValue: false },
  inter: { kind: "value", key: "inter", type: "duration" },
  fastinter: { kind: "value", key: "fastinter", type: "duration" },
  downinter: { kind: "value", key: "downinter", type: "duration" },
  rise: { kind: "value", key: "rise", type: "int" },
  fall: { kind: "value", key: "fall", type: "int" },
  maxconn: { kind: "value", key: "maxconn", type: "int" },
  disabled: { kind: "flag", key: "disabled", flagValue: true },
  enabled: { kind: "flag", key: "disabled", flagValue: false },
  // ignored with a warning
  id: pw("value", "servers have no numeric ids"),
  slowstart: pw("value", "a recovered server gets its full weight at once"),
  maxqueue: pw("value", "the queue is bounded by 'timeout queue'"),
  minconn: pw("value", "server maxconn is not scaled dynamically"),
  resolvers: pw("value", "names are resolved with the system resolver"),
  "resolve-prefer": pw("value", "names are resolved with the system resolver"),
  "resolve-opts": pw("value", "names are resolved with the system resolver"),
  "resolve-net": pw("value", "names are resolved with the system resolver"),
  "init-addr": pw("value", "names are resolved with the system resolver"),
  "pool-max-conn": pw("value", "server connections follow the http-server-close mode"),
  "pool-low-conn": pw("value", "server connections follow the http-server-close mode"),
  "pool-purge-delay": pw("value", "server connections follow the http-server-close mode"),
  "max-reuse": pw("value", "server connections follow the http-server-close mode"),
  "error-limit": pw("value", "only health checks change a server's state"),
  "log-proto": pw("value", "not used"),
  "non-stick": pw("flag", "there are no stick tables"),
  tfo: pw("flag", "not supported"),
  "no-tfo": pw("flag", "not supported"),
  "agent-inter": pw("value", "agent checks are not supported"),
  "agent-port": pw("value", "agent checks are not supported"),
  "agent-addr": pw("value", "agent checks are not supported"),
  "agent-send": pw("value", "agent checks are not supported"),
  "check-sni": pw("value", "checks do not use TLS"),
  "check-alpn": pw("value", "checks do not use TLS"),
  // refused
  cookie: pe("value", "cookie persistence is not supported (use URL affinity)"),
  redir: pe("value", "redirects are not supported"),
  port: pe("value", "checks go to the server's own address and port"),
  addr: pe("value", "checks go to the server's own address and port"),
  "agent-check": pe("flag", "agent checks are not supported"),
  observe: pe("value", "only health checks change a server's state"),
  "on-error": pe("value", "only health checks change a server's state"),
  "on-marked-down": pe("value", "connections are not cut when a server goes down"),
  "on-marked-up": pe("value", "connections are not cut when a server comes up"),
  "send-proxy": pe("flag", "the PROXY protocol is not supported"),
  "send-proxy-v2": pe("flag", "the PROXY protocol is not supported"),
  "send-proxy-v2-ssl": pe("flag", "the PROXY protocol is not supported"),
  "send-proxy-v2-ssl-cn": pe("flag", "the PROXY protocol is not supported"),
  "check-send-proxy": pe("flag", "the PROXY protocol is not supported"),
  "proxy-v2-options": pe("value", "the PROXY protocol is not supported"),
  source: pe("value", "choosing the source address is not supported"),
  usesrc: pe("value", "choosing the source address is not supported"),
  namespace: pe("value", "network namespaces are not supported"),
  proto: pe("value", "servers are spoken to in HTTP/1.1"),
  ws: pe("value", "WebSocket goes to servers in HTTP/1.1"),
  ssl: pe("flag", "TLS to servers is not supported"),
  "check-ssl": pe("flag", "TLS to servers is not supported"),
  verify: pe("value", "TLS to servers is not supported"),
  verifyhost: pe("value", "TLS to servers is not supported"),
  "ca-file": pe("value", "TLS to servers is not supported"),
  crt: pe("value", "TLS to servers is not supported"),
  sni: pe("value", "TLS to servers is not supported"),
  alpn: pe("value", "TLS to servers is not supported"),
  npn: pe("value", "TLS to servers is not supported"),
  ciphers: pe("value", "TLS to servers is not supported"),
  ciphersuites: pe("value", "TLS to servers is not supported"),
};
function pw(kind: ParamKind, why: string): ParamSpec {
  return { kind, unsupported: { level: "warn", why } };
}
function pe(kind: ParamKind, why: string): ParamSpec {
  return { kind, unsupported: { level: "error", why } };
}

const BIND_PARAMS: Record<string, ParamSpec> = {
  name: pw("value", "listeners have no names"),
  id: pw("value", "listeners have no numeric ids"),
  process: pw("value", "wtproxy runs one process"),
  thread: pw("value", "wtproxy runs one event loop"),
  nice: pw("value", "not supported"),
  backlog: pw("value", "the listen backlog is the system default"),
  maxconn: pw("value", "the frontend's maxconn limits its connections"),
  "defer-accept": pw("flag", "not supported"),
  tfo: pw("flag", "not supported"),
  v4v6: pw("flag", "the wildcard address follows the system's IPv6 settings"),
  v6only: pw("flag", "the wildcard address follows the system's IPv6 settings"),
  level: pw("value", "stats sockets are not supported"),
  "severity-output": pw("value", "stats sockets are not supported"),
  "expose-fd": pw("value", "stats sockets are not supported"),
  mode: pw("value", "unix sockets are not supported"),
  uid: pw("value", "unix sockets are not supported"),
  gid: pw("value", "unix sockets are not supported"),
  user: pw("value", "unix sockets are not supported"),
  group: pw("value", "unix sockets are not supported"),
  mss: pw("value", "not supported"),
  "tcp-ut": pw("value", "not supported"),
  ssl: pe("flag", TLS),
  crt: pe("value", TLS),
  "crt-list": pe("value", TLS),
  "ca-file": pe("value", TLS),
  verify: pe("value", TLS),
  alpn: pe("value", TLS),
  npn: pe("value", TLS),
  ciphers: pe("value", TLS),
  ciphersuites: pe("value", TLS),
  "ssl-min-ver": pe("value", TLS),
  "ssl-max-ver": pe("value", TLS),
  "strict-sni": pe("flag", TLS),
  "accept-proxy": pe("flag", "the PROXY protocol is not supported"),
  "accept-netscaler-cip": pe("value", "NetScaler client IP insertion is not supported"),
  transparent: pe("flag", "transparent proxying is not supported"),
  interface: pe("value", "binding to an interface is not supported: bind its address"),
  namespace: pe("value", "network namespaces are not supported"),
  proto: pe("value", "clients are spoken to in HTTP/1.1 (and HTTP/2 over TLS)"),
  "allow-0rtt": pe("flag", TLS),
};

const FACILITY_NAMES: ReadonlySet<string> = new Set(FACILITIES);
const LEVEL_NAMES: ReadonlySet<string> = new Set(LEVELS);
/** HAProxy's server values when nothing is said (used to undo a `defaults` setting in a proxy). */
const SERVER_BUILTIN: Readonly<Record<string, string | number | boolean | null>> = BUILTIN_SERVER;

// ---------------------------------------------------------------------------------------------
// What the parser collects before the tree is written

interface Setting {
  node: SrcNode;
  keyLoc: Loc;
  cap: Cap;
  comment?: string;
}
/** Dotted keys: "mode", "retries", "options.httplog", "timeouts.connect", "default-server.inter". */
type Settings = Map<string, Setting>;

type LogItem =
  | { kind: "global"; loc: Loc; comment?: string }
  | { kind: "target"; node: SrcMap };

interface DefaultsSec {
  name: string | null;
  comment?: string;
  loc: Loc;
  settings: Settings;
  log: LogItem[];
  logKeyLoc: Loc | null;
  /** `log` was written (or `no log`) in this section or the one it inherits from. */
  logSet: boolean;
}

interface ServerRec {
  name: string;
  keyLoc: Loc;
  nameLoc: Loc;
  comment?: string;
  fields: Map<string, { node: SrcNode; keyLoc: Loc }>;
  /** The effective default-server (defaults + this backend so far) when the line was read. */
  dsSnapshot: Map<string, SrcNode>;
}

interface ProxyRec {
  type: "frontend" | "backend" | "listen";
  name: string;
  keyLoc: Loc;
  nameLoc: Loc;
  comment?: string;
  defaults: DefaultsSec | null;
  settings: Settings;
  log: LogItem[];
  noLog: boolean;
  logKeyLoc: Loc | null;
  binds: { text: string; loc: Loc; comment?: string }[];
  bindKeyLoc: Loc | null;
  acls: { name: string; nameLoc: Loc; text: string; textLoc: Loc; comment?: string }[];
  useBackend: { keyLoc: Loc; node: SrcMap }[];
  servers: ServerRec[];
  /** `listen NAME ADDR`: already an error, no "no bind" warning on top. */
  legacyListen: boolean;
  /** Own default-server keys, in order (also in settings as "default-server.X"). */
  expectCount: number;
}

type Section =
  | { kind: "none" }
  | { kind: "global" }
  | { kind: "defaults"; sec: DefaultsSec }
  | { kind: "proxy"; p: ProxyRec }
  | { kind: "skipped" };

const PROXY_NAME_OK = /^[A-Za-z0-9_.:-]+$/;

/** HAProxy's capability check: a frontend lacks "be", a backend "fe"; `listen` has both. */
function lacks(p: ProxyRec | null, cap: Cap): boolean {
  return p !== null && p.type !== "listen" && cap !== "both" &&
    (cap === "fe") !== (p.type === "frontend");
}

class CfgParser {
  readonly diags: Diagnostic[] = [];
  readonly envOverlay = new Map<string, string | null>();
  resetEnv = false;
  readonly lookupEnv: (name: string) => string | undefined;

  globalEntries: SrcEntry[] = [];
  globalLog: SrcMap[] = [];
  globalLogKeyLoc: Loc | null = null;
  globalLogComment: string | undefined;
  globalLoc: Loc | null = null;
  globalComment: string | undefined;

  defaultsList: DefaultsSec[] = [];
  namedDefaults = new Map<string, DefaultsSec>();
  lastDefaults: DefaultsSec | null = null;
  proxies: ProxyRec[] = [];
  frontendsByName = new Map<string, ProxyRec>();
  backendsByName = new Map<string, ProxyRec>();

  /** Comment lines waiting for the next element; `note`: a trace of an ignored directive. */
  pending: { text: string; note: boolean }[] = [];
  headComment: string[] = [];
  sectionName = "";

  constructor(readonly text: string, readonly file: string, opts: HaproxyParseOptions) {
    this.lookupEnv = opts.env ?? ((name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    });
  }

  loc(line: number, col: number): Loc {
    return { file: this.file, line, col };
  }
  at(l: Line, w: Word | undefined): Loc {
    return this.loc(l.no, w ? w.col : 1);
  }
  error(loc: Loc, message: string) {
    this.diags.push({ ...loc, severity: "error", message });
  }
  warn(loc: Loc, message: string) {
    this.diags.push({ ...loc, severity: "warning", message });
  }

  /** Takes the comment lines waiting for the next element (plus an inline comment). */
  takeComment(l: Line): string | undefined {
    const parts = this.pending.map((x) => x.text);
    if (l.comment !== null && l.comment.trim() !== "") parts.push(l.comment.trim());
    this.pending = [];
    return parts.length ? parts.join("\n") : undefined;
  }
  keep(text: string) {
    this.pending.push({ text, note: false });
  }
  /** Notes about ignored directives left at a section's end go with the section itself. */
  takeNotes(): string | undefined {
    const notes = this.pending.filter((x) => x.note).map((x) => x.text);
    this.pending = this.pending.filter((x) => !x.note);
    return notes.length ? notes.join("\n") : undefined;
  }
  /** A directive that produced nothing: keep a trace of it for the YAML reader. */
  noteIgnored(l: Line, why: string) {
    if (l.comment !== null && l.comment.trim() !== "") this.keep(l.comment.trim());
    this.pending.push({ text: `${why}: ${l.raw.replace(/#.*$/, "").trim()}`, note: true });
  }

  env(name: string): string | undefined {
    if (name === ".FILE") return this.file;
    if (name === ".SECTION") return this.sectionName;
    if (this.envOverlay.has(name)) return this.envOverlay.get(name) ?? undefined;
    if (this.resetEnv) return undefined;
    return this.lookupEnv(name);
  }

  // -------------------------------------------------------------------------------------------
  tokenize(raw: string, no: number): Line {
    const words: Word[] = [];
    let comment: string | null = null;
    let i = 0;
    const n = raw.length;
    while (i < n) {
      const c = raw[i];
      if (c === " " || c === "\t") {
        i++;
        continue;
      }
      if (c === "#") {
        comment = raw.slice(i + 1);
        break;
      }
      // one word
      const start = i;
      let text = "";
      let processed = false;
      let expanded = false;
      const extra: Word[] = [];
      let quote: '"' | "'" | null = null;
      let quoteCol = 0;
      while (i < n) {
        const ch = raw[i];
        if (quote === "'") {
          if (ch === "'") quote = null;
          else text += ch;
          i++;
          continue;
        }
        if (quote === null && (ch === " " || ch === "\t" || ch === "#")) break;
        if (ch === "\\") {
          processed = true;
          const nx = raw[i + 1];
          if (nx === undefined) {
            text += "\\";
            i++;
            continue;
          }
          const simple: Record<string, string> = {
            " ": " ",
            "\t": "\t",
            "#": "#",
            "\\": "\\",
            "'": "'",
            '"': '"',
            "$": "$",
            n: "\n",
            r: "\r",
            t: "\t",
          };
          if (nx in simple) {
            text += simple[nx];
            i += 2;
          } else if (nx === "x" && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4))) {
            text += String.fromCharCode(parseInt(raw.slice(i + 2, i + 4), 16));
            i += 4;
          } else {
            // unknown escapes stay as written (regular expressions such as `\.` keep working)
            text += "\\" + nx;
            i += 2;
          }
          continue;
        }
        if (ch === '"') {
          processed = true;
          if (quote === '"') quote = null;
          else {
            quote = '"';
            quoteCol = i + 1;
          }
          i++;
          continue;
        }
        if (ch === "'" && quote === null) {
          processed = true;
          quote = "'";
          quoteCol = i + 1;
          i++;
          continue;
        }
        if (ch === "$" && quote === '"') {
          const r = this.expandVar(raw, i, no);
          if (r) {
            processed = true;
            expanded = true;
            if (r.split && r.value.trim() !== "") {
              // "${VAR[*]}": each space-separated part of the value is a word of its own
              const parts = r.value.trim().split(/\s+/);
              text += parts[0];
              for (const p of parts.slice(1)) {
                extra.push({ text, col: start + 1, end: r.next, processed: true, expanded: true });
                text = p;
              }
            } else text += r.value;
            i = r.next;
            continue;
          }
        }
        text += ch;
        i++;
      }
      if (quote !== null) {
        this.error(
          this.loc(no, quoteCol),
          `unmatched quote at position ${quoteCol}: the line ends inside a ${
            quote === '"' ? "double" : "single"
          }-quoted string`,
        );
        return { no, raw, words: [], comment: null };
      }
      words.push(...extra, { text, col: start + 1, end: i, processed, expanded });
    }
    return { no, raw, words, comment };
  }

  expandVar(
    raw: string,
    i: number,
    no: number,
  ): { value: string; next: number; split: boolean } | null {
    // raw[i] === "$"
    if (raw[i + 1] === "{") {
      const close = raw.indexOf("}", i + 2);
      if (close < 0) {
        this.error(this.loc(no, i + 1), `missing '}' after '\${' (environment variable)`);
        return { value: "", next: raw.length, split: false };
      }
      let inner = raw.slice(i + 2, close);
      let split = false;
      if (inner.endsWith("[*]")) {
        split = true;
        inner = inner.slice(0, -3);
      }
      const m = VAR_NAME.exec(inner);
      if (!m) {
        this.error(
          this.loc(no, i + 1),
          `invalid environment variable name '${inner}': use letters, digits and '_'`,
        );
        return { value: "", next: close + 1, split: false };
      }
      const name = m[0];
      const rest = inner.slice(name.length);
      let dflt: string | null = null;
      if (rest.startsWith("-")) dflt = rest.slice(1);
      else if (rest !== "") {
        this.error(
          this.loc(no, i + 1),
          `invalid environment variable reference '\${${inner}}': expected \${NAME} or \${NAME-default}`,
        );
        return { value: "", next: close + 1, split: false };
      }
      return { value: this.varValue(name, dflt, no, i + 1), next: close + 1, split };
    }
    const m = VAR_NAME.exec(raw.slice(i + 1));
    if (!m) return null;
    return { value: this.varValue(m[0], null, no, i + 1), next: i + 1 + m[0].length, split: false };
  }

  varValue(name: string, dflt: string | null, no: number, col: number): string {
    if (name === ".LINE") return String(no);
    const v = this.env(name);
    if (v !== undefined) return v;
    if (dflt !== null) return dflt;
    this.warn(
      this.loc(no, col),
      `environment variable '${name}' is not set: it expands to an empty string`,
    );
    return "";
  }

  // -------------------------------------------------------------------------------------------
  run(): { tree: SrcNode; diagnostics: Diagnostic[] } {
    const lines = this.text.split("\n");
    let section: Section = { kind: "none" };
    let sawSection = false;
    for (let idx = 0; idx < lines.length; idx++) {
      const raw = lines[idx].endsWith("\r") ? lines[idx].slice(0, -1) : lines[idx];
      const l = this.tokenize(raw, idx + 1);
      if (l.words.length === 0) {
        if (l.comment !== null) this.keep(l.comment.replace(/^ /, ""));
        else if (!sawSection && this.pending.length) {
          // comments before the first section, followed by a blank line: the file's header
          this.headComment.push(...this.pending.map((x) => x.text));
          this.pending = [];
        }
        continue;
      }
      const kw = l.words[0].text;
      if (kw.startsWith(".")) {
        this.directive(l);
        continue;
      }
      if (SECTION_WORDS.has(kw) || kw in OTHER_SECTIONS) {
        sawSection = true;
        section = this.startSection(l, section);
        continue;
      }
      switch (section.kind) {
        case "none":
          this.error(this.at(l, l.words[0]), `unknown keyword '${kw}' out of section.`);
          break;
        case "skipped":
          break;
        case "global":
          this.globalLine(l);
          break;
        case "defaults":
          this.proxyLine(l, null, section.sec);
          break;
        case "proxy":
          this.proxyLine(l, section.p, null);
          break;
      }
    }
    this.finish(section);
    const tree = this.emit();
    return { tree, diagnostics: this.diags };
  }

  directive(l: Line) {
    const kw = l.words[0].text;
    const msg = l.words.slice(1).map((x) => x.text).join(" ");
    const loc = this.at(l, l.words[0]);
    switch (kw) {
      case ".warning":
        this.warn(loc, msg);
        return;
      case ".notice":
      case ".diag":
        this.warn(loc, `${kw.slice(1)}: ${msg}`);
        return;
      case ".alert":
        this.error(loc, msg);
        return;
      case ".if":
      case ".elif":
      case ".else":
      case ".endif":
        this.error(
          loc,
          `conditional blocks ('${kw}') are not supported by wtproxy: keep one branch of the block`,
        );
        return;
      default:
        this.error(loc, `unknown directive '${kw}'`);
    }
  }

  startSection(l: Line, prev: Section): Section {
    this.finish(prev);
    const kw = l.words[0].text;
    const kwLoc = this.at(l, l.words[0]);
    this.sectionName = l.words[1]?.text ?? kw;
    if (kw in OTHER_SECTIONS) {
      this.warn(
        kwLoc,
        `'${kw}' section ignored (up to the next section): ${OTHER_SECTIONS[kw]}`,
      );
      this.noteIgnored(l, "section ignored by wtproxy");
      return { kind: "skipped" };
    }
    if (kw === "global") {
      if (this.globalLoc === null) {
        this.globalLoc = kwLoc;
        this.globalComment = this.takeComment(l);
      } else {
        const c = this.takeComment(l);
        if (c) this.keep(c);
      }
      if (l.words.length > 1) {
        this.unexpected(l, "global", l.words[1]);
      }
      return { kind: "global" };
    }
    if (kw === "defaults") {
      let name: string | null = null;
      let i = 1;
      if (l.words[1] && l.words[1].text !== "from") {
        name = l.words[1].text;
        i = 2;
      }
      const from = this.parseFrom(l, i) ?? null;
      // a `defaults` section starts from HAProxy's built-in settings, or from `from NAME`
      const sec: DefaultsSec = {
        name,
        loc: kwLoc,
        settings: new Map(from ? [...from.settings] : []),
        log: from ? [...from.log] : [],
        logKeyLoc: from?.logKeyLoc ?? null,
        logSet: from?.logSet ?? false,
      };
      sec.comment = this.takeComment(l);
      this.defaultsList.push(sec);
      if (name !== null) this.namedDefaults.set(name, sec);
      this.lastDefaults = sec;
      return { kind: "defaults", sec };
    }
    // frontend / backend / listen
    const type = kw as ProxyRec["type"];
    const nameWord = l.words[1];
    if (!nameWord || nameWord.text === "from") {
      this.error(kwLoc, `'${kw}' expects an <id> argument`);
      return { kind: "skipped" };
    }
    const name = nameWord.text;
    const nameLoc = this.at(l, nameWord);
    if (!PROXY_NAME_OK.test(name)) {
      const bad = [...name].find((ch) => !/[A-Za-z0-9_.:-]/.test(ch));
      this.error(nameLoc, `character '${bad}' is not permitted in '${kw}' name '${name}'.`);
    }
    let legacyListen = false;
    let fromIdx = 2;
    if (l.words[2] && l.words[2].text !== "from") {
      if (kw === "listen") {
        this.error(
          this.at(l, l.words[2]),
          `please use the 'bind' keyword for listening addresses. HAProxy 1.6 and later refuse ` +
            `'listen ${name} ${l.words[2].text}': write 'listen ${name}' and, inside it, ` +
            `'bind ${l.words[2].text}'.`,
        );
        legacyListen = true;
      } else {
        this.unexpected(l, kw, l.words[2]);
      }
      fromIdx = 3;
    }
    let defaults = this.lastDefaults;
    const f = this.parseFrom(l, fromIdx);
    if (f !== undefined) defaults = f;
    const p: ProxyRec = {
      type,
      name,
      keyLoc: kwLoc,
      nameLoc,
      comment: this.takeComment(l),
      defaults,
      settings: new Map(),
      log: [],
      noLog: false,
      logKeyLoc: null,
      binds: [],
      bindKeyLoc: null,
      acls: [],
      useBackend: [],
      servers: [],
      legacyListen,
      expectCount: 0,
    };
    // same name twice for the same capability
    for (
      const [map, has] of [
        [this.frontendsByName, type !== "backend"],
        [this.backendsByName, type !== "frontend"],
      ] as const
    ) {
      if (!has) continue;
      const other = map.get(name);
      if (other) {
        this.error(
          nameLoc,
          `${kw} '${name}' has the same name as ${other.type} '${name}' declared at ` +
            `${other.keyLoc.file}:${other.keyLoc.line}.`,
        );
        return { kind: "skipped" };
      }
    }
    if (type !== "backend") this.frontendsByName.set(name, p);
    if (type !== "frontend") this.backendsByName.set(name, p);
    this.proxies.push(p);
    return { kind: "proxy", p };
  }

  /** `from NAME` at words[i]: the named defaults; undefined when absent. */
  parseFrom(l: Line, i: number): DefaultsSec | null | undefined {
    const w0 = l.words[i];
    if (!w0) return undefined;
    if (w0.text !== "from" || !l.words[i + 1]) {
      this.error(this.at(l, w0), `unexpected argument '${w0.text}': expected 'from <defaults>'`);
      return undefined;
    }
    const name = l.words[i + 1].text;
    const d = this.namedDefaults.get(name);
    if (!d) {
      this.error(this.at(l, l.words[i + 1]), `unable to find defaults section '${name}'.`);
      return undefined;
    }
    if (l.words[i + 2]) {
      this.error(this.at(l, l.words[i + 2]), `unexpected argument '${l.words[i + 2].text}'.`);
    }
    return d;
  }

  finish(section: Section) {
    const join = (a: string | undefined, b: string | undefined) =>
      [a, b].filter(Boolean).join("\n") || undefined;
    if (section.kind === "global") this.globalComment = join(this.globalComment, this.takeNotes());
    if (section.kind === "defaults" && section.sec === this.defaultsList[0]) {
      section.sec.comment = join(section.sec.comment, this.takeNotes());
    }
    if (section.kind !== "proxy") return;
    section.p.comment = join(section.p.comment, this.takeNotes());
    if (!section.p.settings.has("mode") && !section.p.defaults?.settings.has("mode")) {
      this.warn(
        section.p.nameLoc,
        `proxy '${section.p.name}' has no 'mode': HAProxy would run it in 'mode tcp' (its ` +
          `default), wtproxy runs it in 'mode http'. Write 'mode http' (e.g. in 'defaults').`,
      );
    }
    const p = section.p;
    if (p.type === "backend" || p.binds.length > 0 || p.legacyListen) return;
    let looksLikeAddress = false;
    try {
      parseAddress(p.name);
      looksLikeAddress = true;
    } catch { /* a plain name */ }
    if (p.type === "listen" && looksLikeAddress) {
      // The Wt wiki's basic recipe writes `listen 0.0.0.0:8181`. HAProxy >= 1.5 takes the
      // word as a name and silently listens nowhere; the author meant an address, so
      // wtproxy listens there, and says so.
      p.binds.push({ text: p.name, loc: p.nameLoc, comment: undefined });
      this.warn(
        p.nameLoc,
        `proxy '${p.name}' has no 'bind' directive and its name looks like an address: ` +
          `HAProxy would take it as a name only and listen nowhere; wtproxy listens on ` +
          `${p.name}. Add 'bind ${p.name}' to the section to say so explicitly.`,
      );
      return;
    }
    if (p.type === "listen") {
      this.warn(
        p.nameLoc,
        `proxy '${p.name}' has no 'bind' directive: wtproxy, like HAProxy, opens no listener ` +
          `for it and only health-checks its servers. Please declare it as a backend if this ` +
          `was intended.`,
      );
    } else {
      this.warn(
        p.nameLoc,
        `proxy '${p.name}' has no 'bind' directive: it listens nowhere and is left out.`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  globalLine(l: Line) {
    const [kwW, ...args] = l.words;
    const kw = kwW.text;
    const kwLoc = this.at(l, kwW);
    switch (kw) {
      case "maxconn":
      case "log-tag": {
        if (!args[0]) {
          this.error(
            kwLoc,
            kw === "maxconn"
              ? `'maxconn' expects an integer argument.`
              : `'log-tag' expects a tag for use in syslog.`,
          );
          return;
        }
        if (!this.noExtra(l, kw, 1)) return;
        const node = kw === "maxconn" ? this.intNode(l, args[0]) : this.strNode(l, args[0]);
        this.globalEntries = this.globalEntries.filter((en) => en.key !== kw);
        this.globalEntries.push({
          key: kw,
          keyLoc: kwLoc,
          value: node,
          comment: this.takeComment(l),
        });
        return;
      }
      case "log": {
        if (args[0]?.text === "global") {
          this.error(this.at(l, args[0]), `'global' is not supported for a global syslog server.`);
          return;
        }
        const t = this.logTarget(l, args);
        if (!t) return;
        if (this.globalLogKeyLoc === null) this.globalLogKeyLoc = kwLoc;
        t.comment = this.takeComment(l);
        this.globalLog.push(t);
        return;
      }
      case "setenv":
      case "presetenv": {
        if (args.length !== 2) {
          this.error(kwLoc, `'${kw}' expects a name and a value.`);
          return;
        }
        if (kw === "setenv" || this.env(args[0].text) === undefined) {
          this.envOverlay.set(args[0].text, args[1].text);
        }
        this.takeComment(l);
        return;
      }
      case "unsetenv":
        for (const a of args) this.envOverlay.set(a.text, null);
        this.takeComment(l);
        return;
      case "resetenv": {
        const keep = new Map<string, string | null>();
        for (const a of args) keep.set(a.text, this.env(a.text) ?? null);
        this.envOverlay.clear();
        for (const [k, v] of keep) this.envOverlay.set(k, v);
        this.resetEnv = true;
        this.takeComment(l);
        return;
      }
    }
    const u = GLOBAL_KEYWORDS[kw] ??
      (kw.startsWith("tune.")
        ? { level: "warn" as const, why: "wtproxy has its own buffer and timer settings" }
        : undefined);
    if (u) {
      this.unsupported(l, u);
      return;
    }
    this.error(kwLoc, `unknown keyword '${kw}' in 'global' section`);
  }

  unsupported(l: Line, u: Unsupported, what?: string) {
    const name = what ?? l.words[0].text;
    const loc = this.at(l, l.words[0]);
    if (u.level === "warn") {
      this.warn(loc, `'${name}' is not supported by wtproxy and is ignored: ${u.why}.`);
      this.noteIgnored(l, "ignored by wtproxy");
    } else {
      this.error(
        loc,
        `'${name}' is not supported by wtproxy: ${u.why}. Running without it would change ` +
          `what this configuration does, so it is refused.`,
      );
    }
  }

  noExtra(l: Line, what: string, used: number): boolean {
    const extra = l.words[used + 1];
    if (!extra) return true;
    this.unexpected(l, what, extra);
    return false;
  }
  /** HAProxy's message for a word the directive `what` does not take. */
  unexpected(l: Line, what: string, extra: Word) {
    this.error(this.at(l, extra), `'${what}' cannot handle unexpected argument '${extra.text}'.`);
  }

  // -------------------------------------------------------------------------------------------
  /** `log <address> [len N] [format F] [sample R:S] <facility> [<level> [<minlevel>]]`. */
  logTarget(l: Line, args: Word[]): SrcMap | null {
    const kwLoc = this.at(l, l.words[0]);
    if (args.length < 2) {
      this.error(kwLoc, `log : expects <address> and <facility> or global as arguments`);
      return null;
    }
    const addrW = args[0];
    const addrLoc = this.at(l, addrW);
    let address = addrW.text;
    const pfx = /^([a-z0-9]+)@(.*)$/.exec(address);
    if (address === "stdout" || address === "fd@1") address = "stdout";
    else if (address === "stderr" || address === "fd@2") {
      this.error(
        addrLoc,
        `log : target '${addrW.text}' is not supported by wtproxy: use 'stdout', a UDP syslog ` +
          `address or a unix socket such as /dev/log`,
      );
      return null;
    } else if (pfx) {
      const [, proto, rest] = pfx;
      if (["udp", "udp4", "udp6", "ipv4", "ipv6"].includes(proto)) address = rest;
      else if (proto === "unix") address = rest;
      else {
        this.error(
          addrLoc,
          `log : target '${addrW.text}' is not supported by wtproxy: use 'stdout', a UDP syslog ` +
            `address or a unix socket such as /dev/log`,
        );
        return null;
      }
    }
    const entries: SrcEntry[] = [{
      key: "address",
      keyLoc: addrLoc,
      value: this.scalar(address, addrLoc),
    }];
    let i = 1;
    let format: string | null = null;
    while (i < args.length && ["len", "format", "sample"].includes(args[i].text)) {
      const opt = args[i];
      const val = args[i + 1];
      if (!val) {
        this.error(this.at(l, opt), `log : '${opt.text}' expects a value`);
        return null;
      }
      if (opt.text === "len") {
        this.warn(
          this.at(l, opt),
          `log : 'len ${val.text}' is ignored: wtproxy truncates syslog lines at 1024 bytes`,
        );
      } else if (opt.text === "sample") {
        this.warn(
          this.at(l, opt),
          `log : 'sample ${val.text}' is ignored: every line is sent to this target`,
        );
      } else {
        format = val.text;
        const fLoc = this.at(l, val);
        if (format === "rfc3164") {
          this.warn(
            fLoc,
            `log : format 'rfc3164' is sent without the hostname field, like HAProxy's 'local'`,
          );
        } else if (format !== "local") {
          if (
            !["rfc5424", "priority", "short", "timed", "iso", "raw"].includes(format)
          ) {
            this.error(fLoc, `log : unknown log format '${format}'`);
            return null;
          }
          this.warn(
            fLoc,
            `log : format '${format}' is not supported: lines are sent in HAProxy's 'local' ` +
              `syslog format`,
          );
        }
      }
      i += 2;
    }
    const fac = args[i];
    if (!fac) {
      this.error(kwLoc, `log : expects <address> and <facility> or global as arguments`);
      return null;
    }
    if (!FACILITY_NAMES.has(fac.text)) {
      this.error(this.at(l, fac), `log : unknown log facility '${fac.text}'`);
      return null;
    }
    entries.push({ key: "facility", keyLoc: this.at(l, fac), value: this.strNode(l, fac) });
    const lvl = args[i + 1];
    if (lvl) {
      if (!LEVEL_NAMES.has(lvl.text)) {
        this.error(this.at(l, lvl), `log : unknown optional log level '${lvl.text}'`);
        return null;
      }
      entries.push({ key: "level", keyLoc: this.at(l, lvl), value: this.strNode(l, lvl) });
    }
    const min = args[i + 2];
    if (min) {
      if (!LEVEL_NAMES.has(min.text)) {
        this.error(this.at(l, min), `log : unknown optional minimum log level '${min.text}'`);
        return null;
      }
      entries.push({ key: "min-level", keyLoc: this.at(l, min), value: this.strNode(l, min) });
    }
    if (args[i + 3]) {
      this.error(
        this.at(l, args[i + 3]),
        `log : cannot handle unexpected argument '${args[i + 3].text}'`,
      );
      return null;
    }
    return { kind: "map", entries, loc: addrLoc };
  }

  // -------------------------------------------------------------------------------------------
  /** A line inside `defaults` (d) or a frontend/backend/listen (p). */
  proxyLine(l: Line, p: ProxyRec | null, d: DefaultsSec | null) {
    let words = l.words;
    let negate = false;
    if (words[0].text === "no" && words.length > 1) {
      negate = true;
      words = words.slice(1);
    }
    const kwW = words[0];
    const kw = kwW.text;
    const kwLoc = this.at(l, kwW);
    const args = words.slice(1);
    const settings = p ? p.settings : d!.settings;
    const where = p ? `${p.type} '${p.name}'` : "defaults";
    /** HAProxy's capability check: false (after a warning) when this proxy lacks it. */
    const capable = (cap: Cap, what: string, fatal = false): boolean => {
      if (!lacks(p, cap)) return true;
      const need = cap === "fe" ? "frontend" : "backend";
      if (fatal) {
        this.error(kwLoc, `'${what}' not allowed because ${where} has no ${need} capability.`);
      } else {
        this.warn(kwLoc, `'${what}' ignored because ${where} has no ${need} capability.`);
        this.noteIgnored(l, "ignored by wtproxy");
      }
      return false;
    };
    const set = (key: string, node: SrcNode, keyLoc: Loc, cap: Cap) => {
      settings.delete(key); // re-inserted: the last line wins, in file order
      settings.set(key, { node, keyLoc, cap, comment: this.takeComment(l) });
    };
    if (negate && kw !== "option" && kw !== "log") {
      this.error(
        this.at(l, l.words[0]),
        `'no ${kw}': wtproxy supports 'no' only before 'option' and 'log'.`,
      );
      return;
    }
    if (p === null && ["bind", "acl", "use_backend", "server"].includes(kw)) {
      this.error(
        kwLoc,
        `'${kw}' not allowed in ${
          d!.name ? `'defaults' section '${d!.name}'` : "anonymous 'defaults' section"
        }.`,
      );
      return;
    }

    switch (kw) {
      case "mode": {
        if (!args[0]) {
          this.error(kwLoc, `'mode' expects one of 'http', 'tcp' or 'health'.`);
          return;
        }
        if (!this.noExtra(l, "mode", 1)) return;
        if (args[0].text !== "http") {
          if (args[0].text === "tcp" || args[0].text === "health") {
            this.error(
              this.at(l, args[0]),
              `'mode ${args[0].text}' is not supported: wtproxy proxies HTTP only ('mode http').`,
            );
          } else {
            this.error(this.at(l, args[0]), `unknown proxy mode '${args[0].text}'.`);
          }
          return;
        }
        set("mode", this.strNode(l, args[0]), kwLoc, "both");
        return;
      }
      case "bind":
        if (!capable("fe", "bind")) return;
        this.bind(l, p!, args);
        return;
      case "option":
        this.option(l, words, negate, settings, capable, set);
        return;
      case "log":
        this.proxyLog(l, p, d, args, negate);
        return;
      case "maxconn":
        if (!args[0]) {
          this.error(kwLoc, `'maxconn' expects an integer argument.`);
          return;
        }
        if (p && p.type === "backend") {
          this.warn(
            kwLoc,
            `'maxconn' ignored because ${where} has no frontend capability. ` +
              `Maybe you want 'fullconn' instead ? (wtproxy limits servers with 'server ... maxconn')`,
          );
          this.noteIgnored(l, "ignored by wtproxy");
          return;
        }
        if (!this.noExtra(l, "maxconn", 1)) return;
        set("maxconn", this.intNode(l, args[0]), kwLoc, "fe");
        return;
      case "retries":
        if (!args[0]) {
          this.error(kwLoc, `'retries' expects an integer argument.`);
          return;
        }
        if (!capable("be", "retries")) return;
        if (!this.noExtra(l, "retries", 1)) return;
        set("retries", this.intNode(l, args[0]), kwLoc, "be");
        return;
      case "timeout": {
        const name = args[0]?.text ?? "";
        const spec = TIMEOUTS[name];
        if (!spec) {
          this.error(
            args[0] ? this.at(l, args[0]) : kwLoc,
            `'timeout' supports 'client', 'server', 'connect', 'check', 'queue', ` +
              `'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and ` +
              `'server-fin' (got '${name}')`,
          );
          return;
        }
        if (!args[1]) {
          this.error(kwLoc, `'timeout ${name}' expects an integer value (in milliseconds)`);
          return;
        }
        if (!this.noExtra(l, `timeout ${name}`, 2)) return;
        if (lacks(p, spec.cap)) {
          this.warn(
            kwLoc,
            `'timeout ${name}' will be ignored because ${where} has no ${
              spec.cap === "fe" ? "frontend" : "backend"
            } capability`,
          );
          this.noteIgnored(l, "ignored by wtproxy");
          return;
        }
        if (spec.unsupported) {
          this.unsupported(l, spec.unsupported, `timeout ${name}`);
          return;
        }
        set(`timeouts.${name}`, this.durationNode(l, args[1]), this.at(l, args[0]), spec.cap);
        return;
      }
      case "contimeout":
      case "clitimeout":
      case "srvtimeout": {
        const name = LEGACY_TIMEOUTS[kw];
        if (!args[0]) {
          this.error(kwLoc, `'${kw}' expects an integer value (in milliseconds)`);
          return;
        }
        if (!this.noExtra(l, kw, 1)) return;
        this.warn(
          kwLoc,
          `the '${kw}' directive is not supported anymore since HAProxy 2.1 (HAProxy refuses ` +
            `this file). wtproxy runs it as 'timeout ${name} ${
              args[0].text
            }'. Use 'timeout ${name}'.`,
        );
        this.keep(`was '${kw} ${args[0].text}' (HAProxy 2.1+ refuses it)`);
        const cap = TIMEOUTS[name].cap;
        if (lacks(p, cap)) return;
        set(`timeouts.${name}`, this.durationNode(l, args[0]), kwLoc, cap);
        return;
      }
      case "redispatch":
        this.warn(
          kwLoc,
          `keyword 'redispatch' directive is not supported anymore since HAProxy 2.1 (HAProxy ` +
            `refuses this file). wtproxy runs it as 'option redispatch'. Use 'option redispatch'.`,
        );
        if (!capable("be", "redispatch")) return;
        set("options.redispatch", this.scalar(true, kwLoc), kwLoc, "be");
        return;
      case "acl": {
        if (p === null) return;
        if (!args[0] || !args[1]) {
          this.error(
            kwLoc,
            `'acl' expects an ACL name and a criterion (e.g. 'acl srv1 url_sub wtd=wt1').`,
          );
          return;
        }
        p.acls.push({
          name: args[0].text,
          nameLoc: this.at(l, args[0]),
          text: this.restText(l, args.slice(1)),
          textLoc: this.at(l, args[1]),
          comment: this.takeComment(l),
        });
        return;
      }
      case "use_backend": {
        if (!capable("fe", "use_backend")) return;
        if (!args[0]) {
          this.error(kwLoc, `'use_backend' expects a backend name.`);
          return;
        }
        if (args[0].text.includes("%[")) {
          this.error(
            this.at(l, args[0]),
            `dynamic backend names ('${args[0].text}') are not supported: name the backend.`,
          );
          return;
        }
        const entries: SrcEntry[] = [{
          key: "backend",
          keyLoc: this.at(l, args[0]),
          value: this.strNode(l, args[0]),
        }];
        if (args[1]) {
          const pol = args[1].text;
          if (pol !== "if" && pol !== "unless") {
            this.error(
              this.at(l, args[1]),
              `'use_backend ${args[0].text}' : expects 'if' or 'unless' followed by a ` +
                `condition, got '${pol}'.`,
            );
            return;
          }
          if (!args[2]) {
            this.error(
              this.at(l, args[1]),
              `'use_backend ${args[0].text} ${pol}' : no condition after '${pol}'.`,
            );
            return;
          }
          entries.push({
            key: pol,
            keyLoc: this.at(l, args[1]),
            value: this.scalar(this.restText(l, args.slice(2)), this.at(l, args[2])),
          });
        } else {
          // no condition: the rule always matches (HAProxy's predefined ACL TRUE)
          entries.push({
            key: "if",
            keyLoc: this.at(l, args[0]),
            value: this.scalar("TRUE", this.at(l, args[0])),
          });
        }
        const node: SrcMap = { kind: "map", entries, loc: kwLoc, comment: this.takeComment(l) };
        p!.useBackend.push({ keyLoc: kwLoc, node });
        return;
      }
      case "default_backend":
        if (!args[0]) {
          this.error(kwLoc, `'default_backend' expects a backend name.`);
          return;
        }
        if (!capable("fe", "default_backend")) return;
        if (!this.noExtra(l, "default_backend", 1)) return;
        set("default_backend", this.strNode(l, args[0]), kwLoc, "fe");
        return;
      case "balance":
        if (!args[0]) {
          this.error(kwLoc, `'balance' expects an algorithm (e.g. 'balance roundrobin').`);
          return;
        }
        if (!capable("be", "balance")) return;
        set(
          "balance",
          this.scalar(args.map((a) => a.text).join(" "), this.at(l, args[0])),
          kwLoc,
          "be",
        );
        return;
      case "server":
        if (!capable("be", "server", true)) return;
        if (p === null) return;
        this.server(l, p, args);
        return;
      case "default-server":
        if (!capable("be", "default-server", true)) return;
        this.defaultServer(l, p, settings, args);
        return;
      case "http-check":
        if (!capable("be", "http-check")) return;
        this.httpCheck(l, p, args, set);
        return;
    }
    if (kw in REMOVED_21) {
      this.error(
        kwLoc,
        `The '${kw}' directive is not supported anymore since HAProxy 2.1, nor by wtproxy. ` +
          `Use '${REMOVED_21[kw]}' instead (not supported by wtproxy either).`,
      );
      return;
    }
    const u = PROXY_KEYWORDS[kw] ??
      (kw.startsWith("tune.") ? { level: "warn" as const, why: "not supported" } : undefined);
    if (u) {
      this.unsupported(l, u);
      return;
    }
    this.error(
      kwLoc,
      `unknown keyword '${kw}' in '${p ? p.type : "defaults"}' section`,
    );
  }

  option(
    l: Line,
    words: Word[],
    negate: boolean,
    _settings: Settings,
    capable: (cap: Cap, what: string) => boolean,
    set: (key: string, node: SrcNode, keyLoc: Loc, cap: Cap) => void,
  ) {
    const kwLoc = this.at(l, words[0]);
    const nameW = words[1];
    if (!nameW) {
      this.error(kwLoc, `'option' expects an option name.`);
      return;
    }
    const name = nameW.text;
    const nameLoc = this.at(l, nameW);
    const args = words.slice(2);
    const spec = OPTIONS[name];
    if (!spec) {
      this.error(nameLoc, `unknown option '${name}'.`);
      return;
    }
    if (!capable(spec.cap, name)) return;
    if (spec.unsupported) {
      if (negate) {
        this.warn(
          nameLoc,
          `'no option ${name}' is ignored: wtproxy does not implement 'option ${name}' anyway.`,
        );
        this.noteIgnored(l, "ignored by wtproxy");
        return;
      }
      this.unsupported(l, spec.unsupported, `option ${name}`);
      return;
    }
    const key = `options.${name}`;
    if (negate) {
      if (args[0]) {
        this.unexpected(l, `no option ${name}`, args[0]);
        return;
      }
      set(key, this.scalar(false, nameLoc), nameLoc, spec.cap);
      return;
    }
    const flagOnly = () => {
      if (args[0]) {
        this.unexpected(l, `option ${name}`, args[0]);
        return false;
      }
      return true;
    };
    switch (name) {
      case "httplog":
        if (args[0]?.text === "clf") {
          this.warn(
            this.at(l, args[0]),
            `'option httplog clf' : the CLF log format is not supported: lines use the httplog format`,
          );
          if (args[1]) {
            this.unexpected(l, "option httplog", args[1]);
            return;
          }
        } else if (!flagOnly()) return;
        set(key, this.scalar(true, nameLoc), nameLoc, spec.cap);
        return;
      case "redispatch": {
        if (args[1]) {
          this.unexpected(l, "option redispatch", args[1]);
          return;
        }
        let value = true;
        if (args[0]) {
          const n = Number(args[0].text);
          if (!/^-?\d+$/.test(args[0].text)) {
            this.error(
              this.at(l, args[0]),
              `'option redispatch' expects an integer interval, got '${args[0].text}'.`,
            );
            return;
          }
          if (n === 0) value = false;
          else if (n !== -1) {
            this.warn(
              this.at(l, args[0]),
              `'option redispatch ${n}': the interval is ignored: wtproxy redispatches on the ` +
                `last retry, and at once in a round-robin backend with other usable servers`,
            );
          }
        }
        set(key, this.scalar(value, nameLoc), nameLoc, spec.cap);
        return;
      }
      case "forwardfor":
      case "originalto": {
        const entries: SrcEntry[] = [];
        let i = 0;
        const allowed = name === "forwardfor"
          ? ["except", "header", "if-none"]
          : ["except", "header"];
        while (i < args.length) {
          const a = args[i];
          if (!allowed.includes(a.text)) {
            this.error(
              this.at(l, a),
              name === "forwardfor"
                ? `'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.`
                : `'option originalto' only supports optional values: 'except' and 'header'.`,
            );
            return;
          }
          if (a.text === "if-none") {
            entries.push({
              key: "if-none",
              keyLoc: this.at(l, a),
              value: this.scalar(true, this.at(l, a)),
            });
            i++;
            continue;
          }
          const v = args[i + 1];
          if (!v) {
            this.error(
              this.at(l, a),
              `'option ${name}' '${a.text}' expects ${
                a.text === "except" ? "<address>[/mask]" : "<header_name>"
              } as argument.`,
            );
            return;
          }
          entries.push({ key: a.text, keyLoc: this.at(l, a), value: this.strNode(l, v) });
          i += 2;
        }
        set(
          key,
          entries.length ? { kind: "map", entries, loc: nameLoc } : this.scalar(true, nameLoc),
          nameLoc,
          spec.cap,
        );
        return;
      }
      case "httpchk": {
        if (args.length > 3) {
          this.unexpected(l, "option httpchk", args[3]);
          return;
        }
        if (args.length === 0) {
          set(key, this.scalar(true, nameLoc), nameLoc, spec.cap);
          return;
        }
        const keys = args.length === 1 ? ["uri"] : ["method", "uri", "version"];
        const entries: SrcEntry[] = args.map((a, j) => ({
          key: keys[j],
          keyLoc: this.at(l, a),
          value: this.strNode(l, a),
        }));
        set(key, { kind: "map", entries, loc: nameLoc }, nameLoc, spec.cap);
        return;
      }
      default:
        if (!flagOnly()) return;
        set(key, this.scalar(true, nameLoc), nameLoc, spec.cap);
    }
  }

  proxyLog(l: Line, p: ProxyRec | null, d: DefaultsSec | null, args: Word[], negate: boolean) {
    const kwLoc = this.at(l, l.words[0]);
    const comment = this.takeComment(l);
    if (negate) {
      if (args[0]) {
        this.unexpected(l, "no log", args[0]);
        return;
      }
      if (p) {
        p.noLog = true;
        p.log = [];
        p.logKeyLoc = kwLoc;
      } else {
        d!.log = [];
        d!.logSet = true;
        d!.logKeyLoc = kwLoc;
      }
      if (comment) this.keep(comment);
      return;
    }
    let item: LogItem;
    if (args[0]?.text === "global") {
      if (!this.noExtra(l, "log global", 1)) return;
      item = { kind: "global", loc: this.at(l, args[0]), comment };
    } else {
      const t = this.logTarget(l, args);
      if (!t) return;
      t.comment = comment;
      item = { kind: "target", node: t };
    }
    if (p) {
      p.log.push(item);
      p.logKeyLoc ??= kwLoc;
    } else {
      d!.log.push(item);
      d!.logSet = true;
      d!.logKeyLoc ??= kwLoc;
    }
  }

  bind(l: Line, p: ProxyRec, args: Word[]) {
    const kwLoc = this.at(l, l.words[0]);
    if (!args[0]) {
      this.error(
        kwLoc,
        `'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.`,
      );
      return;
    }
    const comment = this.takeComment(l);
    const addrW = args[0];
    // comma lists: locate each part in the raw text when the word was written plainly
    let offset = 0;
    const parts = addrW.text.split(",");
    const out: { text: string; loc: Loc }[] = [];
    for (const part of parts) {
      const col = addrW.processed ? addrW.col : addrW.col + offset;
      offset += part.length + 1;
      const loc = this.loc(l.no, col);
      let text = part.trim();
      const pm = /^([a-z0-9]+)@(.*)$/.exec(text);
      if (pm) {
        if (["ipv4", "ipv6", "tcp", "tcp4", "tcp6"].includes(pm[1])) text = pm[2];
        else {
          this.error(
            loc,
            `'bind ${part}' : '${pm[1]}@' addresses are not supported: wtproxy listens on TCP ` +
              `addresses only (host:port).`,
          );
          continue;
        }
      } else if (text.startsWith("/")) {
        this.error(
          loc,
          `'bind ${part}' : unix sockets are not supported: wtproxy listens on TCP addresses only (host:port).`,
        );
        continue;
      }
      const range = /^(.*):(\d+)-(\d+)$/.exec(text);
      if (range) {
        const lo = Number(range[2]);
        const hi = Number(range[3]);
        if (hi < lo || hi - lo > 1000) {
          this.error(loc, `'bind ${part}' : invalid port range '${range[2]}-${range[3]}'.`);
          continue;
        }
        for (let port = lo; port <= hi; port++) out.push({ text: `${range[1]}:${port}`, loc });
        continue;
      }
      out.push({ text, loc });
    }
    // parameters
    let i = 1;
    while (i < args.length) {
      const a = args[i];
      const spec = BIND_PARAMS[a.text];
      if (!spec) {
        this.error(this.at(l, a), `'bind ${addrW.text}' unknown keyword '${a.text}'.`);
        return;
      }
      if (spec.kind === "value" && !args[i + 1]) {
        this.error(this.at(l, a), `'bind ${addrW.text}' : '${a.text}' expects an argument.`);
        return;
      }
      const u = spec.unsupported!;
      if (u.level === "warn") {
        this.warn(
          this.at(l, a),
          `'bind ${addrW.text}' : '${a.text}' is not supported by wtproxy and is ignored: ${u.why}.`,
        );
      } else {
        this.error(
          this.at(l, a),
          `'bind ${addrW.text}' : '${a.text}' is not supported by wtproxy: ${u.why}.`,
        );
      }
      i += spec.kind === "value" ? 2 : 1;
    }
    p.bindKeyLoc ??= kwLoc;
    out.forEach((b, j) => p.binds.push({ ...b, comment: j === 0 ? comment : undefined }));
  }

  /** Server and default-server parameters into `fields`; false after an error. */
  serverParams(
    l: Line,
    args: Word[],
    what: string,
    fields: Map<string, { node: SrcNode; keyLoc: Loc }>,
    backend: string | null,
    isDefault: boolean,
  ): boolean {
    let i = 0;
    let ok = true;
    while (i < args.length) {
      const a = args[i];
      const aLoc = this.at(l, a);
      const spec = SERVER_PARAMS[a.text];
      if (!spec) {
        this.error(aLoc, `${what} unknown keyword '${a.text}'.`);
        return false;
      }
      const v = spec.kind === "value" ? args[i + 1] : undefined;
      if (spec.kind === "value" && !v) {
        this.error(
          aLoc,
          `${what} : '${a.text}' expects ${
            spec.type === "duration"
              ? "a delay"
              : spec.type === "int"
              ? "an integer"
              : a.text === "track"
              ? "[<proxy>/]<server>"
              : "an argument"
          } as argument.`,
        );
        return false;
      }
      i += spec.kind === "value" ? 2 : 1;
      if (spec.unsupported) {
        if (spec.unsupported.level === "warn") {
          this.warn(
            aLoc,
            `${what} : '${a.text}' is not supported by wtproxy and is ignored: ${spec.unsupported.why}.`,
          );
        } else {
          this.error(
            aLoc,
            `${what} : '${a.text}' is not supported by wtproxy: ${spec.unsupported.why}. ` +
              `Running without it would change what this configuration does, so it is refused.`,
          );
          ok = false;
        }
        continue;
      }
      const key = spec.key!;
      let node: SrcNode;
      if (spec.kind === "flag") node = this.scalar(spec.flagValue!, aLoc);
      else if (spec.type === "int") node = this.intNode(l, v!);
      else if (spec.type === "duration") node = this.durationNode(l, v!);
      else {
        let t = v!.text;
        if (key === "track") {
          if (isDefault) {
            this.error(aLoc, `${what} : 'track' cannot be used in 'default-server'.`);
            ok = false;
            continue;
          }
          if (!t.includes("/") && backend !== null) t = `${backend}/${t}`;
        }
        node = this.scalar(t, this.at(l, v!));
      }
      fields.delete(key);
      fields.set(key, { node, keyLoc: aLoc });
    }
    return ok;
  }

  server(l: Line, p: ProxyRec, args: Word[]) {
    const kwLoc = this.at(l, l.words[0]);
    if (!args[0] || !args[1]) {
      this.error(kwLoc, `'server' expects <name> and <addr>[:<port>] as arguments.`);
      return;
    }
    const name = args[0].text;
    const nameLoc = this.at(l, args[0]);
    const what = `'server ${p.name}/${name}'`;
    if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
      const bad = [...name].find((ch) => !/[A-Za-z0-9_.:-]/.test(ch));
      this.error(nameLoc, `character '${bad}' is not permitted in server name '${name}'.`);
      return;
    }
    const dup = p.servers.find((s) => s.name === name);
    if (dup) {
      this.error(
        nameLoc,
        `${what} : a server with the same name already exists in ${p.type} '${p.name}' ` +
          `(declared at ${dup.keyLoc.file}:${dup.keyLoc.line}).`,
      );
      return;
    }
    let address = args[1].text;
    const addrLoc = this.at(l, args[1]);
    const pm = /^([a-z0-9]+)@(.*)$/.exec(address);
    if (pm) {
      if (["ipv4", "ipv6", "tcp", "tcp4", "tcp6"].includes(pm[1])) address = pm[2];
      else {
        this.error(addrLoc, `${what} : '${pm[1]}@' addresses are not supported: use host:port.`);
        return;
      }
    }
    if (/:[+-]\d*$/.test(address)) {
      this.error(
        addrLoc,
        `${what} : port offsets ('${address}') are not supported: write the server's port.`,
      );
      return;
    }
    const fields = new Map<string, { node: SrcNode; keyLoc: Loc }>();
    fields.set("address", { node: this.scalar(address, addrLoc), keyLoc: addrLoc });
    const comment = this.takeComment(l);
    if (!this.serverParams(l, args.slice(2), what, fields, p.name, false)) return;
    const snap = new Map<string, SrcNode>();
    for (const [k, s] of this.dsOf(p)) snap.set(k, s);
    p.servers.push({ name, keyLoc: kwLoc, nameLoc, comment, fields, dsSnapshot: snap });
  }

  /** Effective default-server of a proxy now: its defaults', then its own lines. */
  dsOf(p: ProxyRec): Map<string, SrcNode> {
    const m = new Map<string, SrcNode>();
    for (const src of [p.defaults?.settings, p.settings]) {
      if (!src) continue;
      for (const [k, s] of src) {
        if (k.startsWith("default-server.")) m.set(k.slice(15), s.node);
      }
    }
    return m;
  }

  defaultServer(l: Line, p: ProxyRec | null, settings: Settings, args: Word[]) {
    const fields = new Map<string, { node: SrcNode; keyLoc: Loc }>();
    const what = `'default-server'`;
    if (!this.serverParams(l, args, what, fields, p?.name ?? null, true)) return;
    const comment = this.takeComment(l);
    let first = true;
    for (const [k, f] of fields) {
      const key = `default-server.${k}`;
      settings.delete(key);
      settings.set(key, {
        node: f.node,
        keyLoc: f.keyLoc,
        cap: "be",
        comment: first ? comment : undefined,
      });
      first = false;
    }
    if (fields.size === 0 && comment) this.keep(comment);
  }

  httpCheck(
    l: Line,
    p: ProxyRec | null,
    args: Word[],
    set: (key: string, node: SrcNode, keyLoc: Loc, cap: Cap) => void,
  ) {
    const kwLoc = this.at(l, l.words[0]);
    const sub = args[0]?.text;
    if (sub === "expect") {
      const rest = args.slice(1);
      if (rest[0]?.text === "!") {
        this.error(
          this.at(l, rest[0]),
          `'http-check expect !' (negated match) is not supported by wtproxy: a check would ` +
            `pass when HAProxy fails it.`,
        );
        return;
      }
      if (rest.length < 2) {
        this.error(
          kwLoc,
          `'http-check expect' : expects at least a matching pattern as arguments.`,
        );
        return;
      }
      const kind = rest[0].text;
      if (!["status", "rstatus", "string", "rstring"].includes(kind)) {
        this.error(
          this.at(l, rest[0]),
          `'http-check expect ${kind}' is not supported by wtproxy: use 'status', 'rstatus', ` +
            `'string' or 'rstring'.`,
        );
        return;
      }
      if (rest.length > 2) {
        this.error(
          this.at(l, rest[2]),
          `'http-check expect' : unexpected argument '${rest[2].text}' (wtproxy supports ` +
            `'http-check expect <status|rstatus|string|rstring> <pattern>' only).`,
        );
        return;
      }
      if (p) {
        p.expectCount++;
        if (p.expectCount > 1) {
          this.error(
            kwLoc,
            `only one 'http-check expect' rule per backend is supported by wtproxy.`,
          );
          return;
        }
      }
      set(
        "http-check.expect",
        this.scalar(`${kind} ${rest[1].text}`, this.at(l, rest[0])),
        this.at(l, args[0]),
        "be",
      );
      return;
    }
    const table: Record<string, Unsupported> = {
      send: { level: "error", why: "the check request is set with 'option httpchk'" },
      connect: { level: "error", why: "checks connect to the server's own address" },
      "disable-on-404": { level: "error", why: "a 404 answer fails the check" },
      "set-var": { level: "error", why: "check variables are not supported" },
      "unset-var": { level: "error", why: "check variables are not supported" },
      "send-state": { level: "warn", why: "the check request carries no state header" },
      comment: { level: "warn", why: "not used" },
    };
    const u = sub ? table[sub] : undefined;
    if (!u) {
      this.error(
        args[0] ? this.at(l, args[0]) : kwLoc,
        `'http-check' expects 'comment', 'connect', 'disable-on-404', 'expect', 'send', ` +
          `'send-state', 'set-var' or 'unset-var' but got '${sub ?? ""}'.`,
      );
      return;
    }
    this.unsupported(l, u, `http-check ${sub}`);
  }

  // -------------------------------------------------------------------------------------------
  scalar(value: string | number | boolean | null, loc: Loc): SrcScalar {
    return { kind: "scalar", value, loc };
  }
  strNode(l: Line, w: Word): SrcScalar {
    return this.scalar(w.text, this.at(l, w));
  }
  /** Integers stay numbers; anything else stays text for build.ts to refuse with its loc. */
  intNode(l: Line, w: Word): SrcScalar {
    return this.scalar(/^\d+$/.test(w.text) ? Number(w.text) : w.text, this.at(l, w));
  }
  durationNode(l: Line, w: Word): SrcScalar {
    return this.intNode(l, w);
  }
  /** Text of words as written (so ACL text keeps its quotes), unless variables were expanded. */
  restText(l: Line, words: Word[]): string {
    const first = words[0];
    const last = words[words.length - 1];
    const raw = l.raw.slice(first.col - 1, last.end);
    if (!words.some((x) => x.expanded)) return raw;
    return words.map((x) => /[\s'"#\\]/.test(x.text) || x.text === "" ? `'${x.text}'` : x.text)
      .join(" ");
  }

  // -------------------------------------------------------------------------------------------
  // The tree

  emit(): SrcMap {
    const root: SrcMap = { kind: "map", entries: [], loc: this.loc(1, 1) };
    if (this.headComment.length) root.comment = this.headComment.join("\n");

    // global
    const gEntries = [...this.globalEntries];
    if (this.globalLog.length) {
      gEntries.push({
        key: "log",
        keyLoc: this.globalLogKeyLoc!,
        value: { kind: "seq", items: this.globalLog, loc: this.globalLog[0].loc },
      });
    }
    if (this.globalLoc) {
      root.entries.push({
        key: "global",
        keyLoc: this.globalLoc,
        value: { kind: "map", entries: gEntries, loc: this.globalLoc },
        comment: this.globalComment,
      });
    }

    // defaults: the first section
    const d1 = this.defaultsList[0] ?? null;
    if (d1) {
      const keys = [...d1.settings.keys()].filter((k) => YAML_DEFAULTABLE(k));
      const entries = this.settingsEntries(keys.map((k) => [k, d1.settings.get(k)!] as const));
      if (d1.logSet) {
        entries.splice(this.modeIndex(entries), 0, {
          key: "log",
          keyLoc: d1.logKeyLoc ?? d1.loc,
          value: this.logNode(d1.log, d1.logKeyLoc ?? d1.loc),
        });
      }
      root.entries.push({
        key: "defaults",
        keyLoc: d1.loc,
        value: { kind: "map", entries, loc: d1.loc },
        comment: d1.comment,
      });
    }

    const frontends: SrcEntry[] = [];
    const backends: SrcEntry[] = [];
    for (const p of this.proxies) {
      const hasFront = p.type === "frontend"
        ? p.binds.length > 0
        : p.type === "listen" && p.binds.length > 0;
      const hasBack = p.type !== "frontend";
      if (hasFront) frontends.push(this.proxyEntry(p, "fe", d1));
      if (hasBack) backends.push(this.proxyEntry(p, "be", d1));
    }
    if (frontends.length) {
      root.entries.push({
        key: "frontends",
        keyLoc: frontends[0].keyLoc,
        value: { kind: "map", entries: frontends, loc: frontends[0].keyLoc },
      });
    }
    if (backends.length) {
      root.entries.push({
        key: "backends",
        keyLoc: backends[0].keyLoc,
        value: { kind: "map", entries: backends, loc: backends[0].keyLoc },
      });
    }
    if (this.pending.length) {
      // comments after the last directive: keep them with the last top-level entry
      const last = root.entries[root.entries.length - 1];
      if (last) {
        const target = last.value.kind === "map" && last.value.entries.length
          ? last.value.entries[last.value.entries.length - 1]
          : last;
        target.value.comment = [target.value.comment, ...this.pending.map((x) => x.text)]
          .filter(Boolean).join("\n");
      } else {
        root.comment = [root.comment, ...this.pending.map((x) => x.text)].filter(Boolean)
          .join("\n");
      }
    }
    return root;
  }

  modeIndex(entries: SrcEntry[]): number {
    const i = entries.findIndex((x) => x.key === "mode");
    return i < 0 ? 0 : i + 1;
  }

  /** Groups dotted settings into the schema's nested maps, keeping first-seen order. */
  settingsEntries(list: readonly (readonly [string, Setting])[]): SrcEntry[] {
    const out: SrcEntry[] = [];
    const groups = new Map<string, SrcEntry>();
    for (const [key, s] of list) {
      const dot = key.indexOf(".");
      if (dot < 0) {
        out.push({ key, keyLoc: s.keyLoc, value: s.node, comment: s.comment });
        continue;
      }
      const group = key.slice(0, dot);
      let g = groups.get(group);
      if (!g) {
        g = { key: group, keyLoc: s.keyLoc, value: { kind: "map", entries: [], loc: s.keyLoc } };
        groups.set(group, g);
        out.push(g);
      }
      (g.value as SrcMap).entries.push({
        key: key.slice(dot + 1),
        keyLoc: s.keyLoc,
        value: s.node,
        comment: s.comment,
      });
    }
    return out;
  }

  logNode(items: LogItem[], loc: Loc): SrcNode {
    // `log global` twice sends nothing twice: keep one
    const seen = new Set<string>();
    const uniq = items.filter((it) => {
      if (it.kind !== "global") return true;
      if (seen.has("g")) return false;
      seen.add("g");
      return true;
    });
    if (uniq.length === 0) return this.scalar(false, loc);
    if (uniq.length === 1 && uniq[0].kind === "global") {
      const s = this.scalar("global", uniq[0].loc);
      s.comment = uniq[0].comment;
      return s;
    }
    const seqItems: SrcNode[] = [];
    for (const it of uniq) {
      if (it.kind === "target") seqItems.push(it.node);
      else seqItems.push(...this.globalLog.map((g) => ({ ...g, comment: undefined })));
    }
    return { kind: "seq", items: seqItems, loc: seqItems[0]?.loc ?? loc };
  }

  proxyEntry(p: ProxyRec, part: "fe" | "be", d1: DefaultsSec | null): SrcEntry {
    const dk = p.defaults;
    const fits = (s: Setting) => s.cap === "both" || s.cap === part;
    const entries: SrcEntry[] = [];
    const loc = p.nameLoc;
    let inheritNote: string | undefined;

    // structure first
    if (part === "fe") {
      const binds = p.binds.map((b) => {
        const s = this.scalar(b.text, b.loc);
        s.comment = b.comment;
        return s;
      });
      entries.push({
        key: "bind",
        keyLoc: p.bindKeyLoc!,
        value: binds.length === 1 ? binds[0] : { kind: "seq", items: binds, loc: binds[0].loc },
      });
      if (p.acls.length) {
        const acls: SrcEntry[] = [];
        for (const a of p.acls) {
          const existing = acls.find((x) => x.key === a.name);
          const node = this.scalar(a.text, a.textLoc);
          node.comment = a.comment;
          if (!existing) acls.push({ key: a.name, keyLoc: a.nameLoc, value: node });
          else if (existing.value.kind === "seq") existing.value.items.push(node);
          else {
            existing.value = {
              kind: "seq",
              items: [existing.value, node],
              loc: existing.value.loc,
            };
          }
        }
        entries.push({
          key: "acls",
          keyLoc: p.acls[0].nameLoc,
          value: { kind: "map", entries: acls, loc: p.acls[0].nameLoc },
        });
      }
      if (p.useBackend.length) {
        entries.push({
          key: "use_backend",
          keyLoc: p.useBackend[0].keyLoc,
          value: {
            kind: "seq",
            items: p.useBackend.map((u) => u.node),
            loc: p.useBackend[0].keyLoc,
          },
        });
      }
      const own = p.settings.get("default_backend");
      const inh = dk?.settings.get("default_backend");
      if (own) {
        entries.push({
          key: "default_backend",
          keyLoc: own.keyLoc,
          value: own.node,
          comment: own.comment,
        });
      } else if (p.type === "listen") {
        entries.push({
          key: "default_backend",
          keyLoc: p.nameLoc,
          value: this.scalar(p.name, p.nameLoc),
        });
      } else if (inh) entries.push({ key: "default_backend", keyLoc: inh.keyLoc, value: inh.node });
    } else {
      const own = p.settings.get("balance") ?? dk?.settings.get("balance");
      if (own) {
        entries.push({ key: "balance", keyLoc: own.keyLoc, value: own.node, comment: own.comment });
      }
    }

    // settings: own lines, then where this proxy's defaults differ from the YAML defaults
    const list: [string, Setting][] = [];
    for (const [k, s] of p.settings) {
      if (!YAML_DEFAULTABLE(k) || !fits(s)) continue;
      if (part === "fe" && k.startsWith("default-server.")) continue;
      list.push([k, s]);
    }
    if (dk !== d1) {
      const keys = new Set<string>();
      for (const src of [dk?.settings, d1?.settings]) {
        for (const [k, s] of src ?? []) if (YAML_DEFAULTABLE(k) && fits(s)) keys.add(k);
      }
      for (const k of keys) {
        if (p.settings.has(k) || k === "mode") continue;
        if (part === "fe" && k.startsWith("default-server.")) continue;
        const a = dk?.settings.get(k);
        const b = d1?.settings.get(k);
        if (a && b && sameNode(a.node, b.node)) continue;
        if (a) list.push([k, a]);
        else if (k.startsWith("default-server.")) continue; // servers are pinned below
        else list.push([k, { ...b!, node: this.unsetValue(k, b!.keyLoc), comment: undefined }]);
        inheritNote = dk
          ? `settings from the 'defaults' section at ${dk.loc.file}:${dk.loc.line}`
          : `defined before any 'defaults' section: HAProxy's built-in defaults apply`;
      }
    }
    const settingEntries = this.settingsEntries(list);

    // log: HAProxy appends a proxy's `log` lines to those of its defaults
    const effLog = p.noLog ? [...p.log] : [...(dk?.log ?? []), ...p.log];
    const yamlLog = d1?.logSet ? d1.log : [];
    const logDiffers = p.log.length > 0 || p.noLog || !sameLog(effLog, yamlLog);
    if (logDiffers) {
      const lloc = p.logKeyLoc ?? dk?.logKeyLoc ?? p.nameLoc;
      settingEntries.splice(this.modeIndex(settingEntries), 0, {
        key: "log",
        keyLoc: lloc,
        value: this.logNode(effLog, lloc),
      });
    }

    // servers
    if (part === "be") {
      const ds = settingEntries.find((x) => x.key === "default-server");
      if (ds) {
        settingEntries.splice(settingEntries.indexOf(ds), 1);
        entries.push(ds);
      }
      // What YAML gives a server: its own keys, then the backend's default-server as written
      // here, then the YAML defaults'. What HAProxy gives it: its own keys, then the
      // default-server lines read before it (a later default-server line does not apply).
      const yamlDs = new Map<string, SrcNode>();
      for (const [k, st] of d1?.settings ?? []) {
        if (k.startsWith("default-server.")) yamlDs.set(k.slice(15), st.node);
      }
      for (const [k, st] of list) {
        if (k.startsWith("default-server.")) yamlDs.set(k.slice(15), st.node);
      }
      const servers: SrcEntry[] = p.servers.map((s) => {
        const fields = new Map(s.fields);
        for (const k of new Set([...s.dsSnapshot.keys(), ...yamlDs.keys()])) {
          if (fields.has(k)) continue;
          const want = s.dsSnapshot.get(k) ?? this.builtinServer(k, s, s.dsSnapshot);
          const got = yamlDs.get(k) ?? this.builtinServer(k, s, yamlDs);
          if (want !== null && !(got !== null && sameNode(want, got))) {
            fields.set(k, { node: { ...want, loc: s.nameLoc }, keyLoc: s.nameLoc });
          }
        }
        return {
          key: s.name,
          keyLoc: s.nameLoc,
          comment: s.comment,
          value: {
            kind: "map",
            loc: s.nameLoc,
            entries: [...fields].map(([k, f]) => ({ key: k, keyLoc: f.keyLoc, value: f.node })),
          },
        };
      });
      if (servers.length) {
        entries.push({
          key: "servers",
          keyLoc: servers[0].keyLoc,
          value: { kind: "map", entries: servers, loc: servers[0].keyLoc },
        });
      }
    }
    entries.push(...settingEntries);

    let comment = p.comment;
    if (p.type === "listen") {
      // the section's own comment goes with its first part (the frontend when it listens)
      const note = p.binds.length > 0
        ? `from 'listen ${p.name}'${
          p.binds[0].loc === p.nameLoc ? " (no 'bind': listens on its name)" : ""
        }`
        : `from 'listen ${p.name}', which has no 'bind': no listener, its servers are checked`;
      comment = part === "be" && p.binds.length > 0
        ? note
        : [p.comment, note].filter(Boolean).join("\n");
    }
    if (inheritNote) comment = [comment, inheritNote].filter(Boolean).join("\n");
    return { key: p.name, keyLoc: p.nameLoc, value: { kind: "map", entries, loc }, comment };
  }

  /** HAProxy's value for a server key nobody set, or null when "the default" is fine. */
  builtinServer(key: string, s: ServerRec, ds: Map<string, SrcNode>): SrcNode | null {
    if (key in SERVER_BUILTIN) return this.scalar(SERVER_BUILTIN[key], s.nameLoc);
    if (key === "fastinter" || key === "downinter") {
      // defaults to inter
      const inter = s.fields.get("inter")?.node ?? ds.get("inter");
      return inter ?? this.scalar(BUILTIN_INTER, s.nameLoc);
    }
    return null;
  }

  /** The value that undoes a YAML `defaults` setting in a proxy whose defaults lack it. */
  unsetValue(key: string, loc: Loc): SrcNode {
    if (key.startsWith("options.")) return this.scalar(false, loc);
    if (key === "retries") return this.scalar(BUILTIN_RETRIES, loc);
    // 0 is "no timeout", HAProxy's value when nothing is said
    if (key.startsWith("timeouts.")) return this.scalar(0, loc);
    // HAProxy's default expectation: a 2xx or 3xx status
    if (key === "http-check.expect") return this.scalar("rstatus ^[23]", loc);
    if (key === "maxconn") return this.scalar(BUILTIN_MAXCONN, loc);
    if (key.startsWith("default-server.")) {
      const k = key.slice(15);
      return this.scalar(k in SERVER_BUILTIN ? SERVER_BUILTIN[k] : null, loc);
    }
    return this.scalar(null, loc);
  }
}

/** Keys a YAML `defaults` can hold (balance and default_backend are copied into each proxy). */
function YAML_DEFAULTABLE(key: string): boolean {
  return key !== "balance" && key !== "default_backend";
}

/** Same value, locations and comments aside. */
export function sameNode(a: SrcNode, b: SrcNode): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "scalar") return a.value === (b as SrcScalar).value;
  if (a.kind === "seq") {
    const bi = (b as SrcSeq).items;
    return a.items.length === bi.length && a.items.every((x, i) => sameNode(x, bi[i]));
  }
  const be = (b as SrcMap).entries;
  return a.entries.length === be.length &&
    a.entries.every((x, i) => x.key === be[i].key && sameNode(x.value, be[i].value));
}

function sameLog(a: LogItem[], b: LogItem[]): boolean {
  const norm = (l: LogItem[]) => {
    const out: LogItem[] = [];
    let g = false;
    for (const it of l) {
      if (it.kind === "global") {
        if (g) continue;
        g = true;
      }
      out.push(it);
    }
    return out;
  };
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((it, i) => {
    const o = y[i];
    if (it.kind === "global" || o.kind === "global") return it.kind === o.kind;
    return sameNode(it.node, o.node);
  });
}
