// The one configuration model every part of wtproxy reads. It is plain immutable data:
// YAML (src/config/yaml.ts) and HAProxy .cfg files (src/config/haproxy.ts) both end here.
// Runtime state (health, counters, connections) never lives in it: see src/state.ts.
import type { CertEntry } from "../tls/certs.ts";

/** A place in a configuration file; line and col are 1-based. */
export interface Loc {
  file: string;
  line: number;
  col: number;
}

export type Severity = "error" | "warning";

/** One message about a configuration file, printed as `FILE:LINE:COL: severity: message`. */
export interface Diagnostic extends Loc {
  severity: Severity;
  message: string;
}

/** Thrown by loadConfig when the configuration has at least one error; carries all of them. */
export class ConfigError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "ConfigError";
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`;
}

/**
 * A located source tree: what a parser (YAML or HAProxy .cfg) produces before the model is
 * built. Both parsers produce trees of the same shape (the YAML schema of
 * config.example.yaml), so one builder validates both and the .cfg -> YAML converter is a
 * printer of this tree.
 */
export type SrcNode = SrcMap | SrcSeq | SrcScalar;
export interface SrcMap {
  kind: "map";
  entries: SrcEntry[];
  loc: Loc;
  comment?: string;
}
export interface SrcEntry {
  key: string;
  keyLoc: Loc;
  value: SrcNode;
  /** Comment lines written just before this entry (kept by the .cfg -> YAML converter). */
  comment?: string;
}
export interface SrcSeq {
  kind: "seq";
  items: SrcNode[];
  loc: Loc;
  comment?: string;
}
export interface SrcScalar {
  kind: "scalar";
  value: string | number | boolean | null;
  loc: Loc;
  comment?: string;
}

/** Durations are milliseconds; null means "not set" (infinite, with a warning where HAProxy warns). */
export type Millis = number;

/**
 * host is as written ("127.0.0.1", "::1", "example.org"); the wildcards "*", "" and "0.0.0.0"
 * become "0.0.0.0", "::" stays "::" (wildcard: true), so host can be given to a listener as is.
 */
export interface Address {
  host: string;
  port: number;
  wildcard: boolean;
  /** "ipv4" | "ipv6" | "name" for host, "any4"/"any6" for wildcards. */
  family: "ipv4" | "ipv6" | "name" | "any4" | "any6";
}

/** Syslog facilities; the index is the facility code. */
export const FACILITIES = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "auth2",
  "ftp",
  "ntp",
  "audit",
  "alert",
  "cron2",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
] as const;
export type Facility = typeof FACILITIES[number];

/** Syslog levels, most severe first: the index is the severity number. */
export const LEVELS = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
] as const;
export type Level = typeof LEVELS[number];

export interface LogTarget {
  /** udp: host:port (default port 514); unix: a datagram socket path such as /dev/log; stdout. */
  kind: "udp" | "unix" | "stdout";
  /** As written in the file (for messages). */
  text: string;
  host: string;
  port: number;
  path: string | null;
  facility: Facility;
  /** Maximum level sent (messages at this severity or more important); default debug. */
  level: Level;
  /** Most severe level sent (HAProxy's optional 4th field); default emerg. */
  minLevel: Level;
  /** rfc3164: HAProxy's `local` syslog header; json: one JSON object per line. */
  format: "rfc3164" | "json";
  loc: Loc;
}

export interface GlobalSection {
  /** Process-wide cap on concurrent client connections. */
  maxconn: number;
  /** Global log targets (`log global` in a proxy refers to these). */
  log: LogTarget[];
  /** Syslog tag, HAProxy's `log-tag`; default "wtproxy". */
  logTag: string;
  /** The live Wt session table (`wt-sessions`); null = off. */
  wtSessions?: WtSessionsConfig | null;
  /** Data-plane threads (HAProxy's `nbthread`); absent: every CPU available (wtproxy -f). */
  nbthread?: number;
}

/** `wt-sessions: { param, timeout, max }` (wtproxy-only; src/session/). */
export interface WtSessionsConfig {
  /** The URL parameter carrying Wt's session id; default "wtd". */
  param: string;
  /** Wt's session timeout; default 600 s. */
  timeout: Millis;
  /** Most sessions kept (the least recently seen are dropped first); default 100 000. */
  max: number;
  loc: Loc;
}

export interface ForwardForOption {
  /** CIDR: no header when the client address is inside it. */
  except: string | null;
  /** Header name, default "x-forwarded-for" (sent lower-cased like HAProxy 2.x). */
  header: string;
  ifNone: boolean;
}

export interface OriginalToOption {
  /** CIDR: no header when the destination address is inside it. */
  except: string | null;
  /** Header name, default "x-original-to". */
  header: string;
}

/** `option httpchk [METHOD] [URI] [VERSION]` + `http-check send` + `http-check expect`. */
export interface HttpCheck {
  method: string;
  uri: string;
  version: string;
  /** `http-check expect status 200` / `status 200-399` / `rstatus ^2`; null = 2xx and 3xx pass.
   * `negate`: HAProxy's `expect ! status 200` (passes when the test fails). */
  expect: {
    kind: "status" | "rstatus" | "string" | "rstring";
    value: string;
    negate?: boolean;
  } | null;
  /** `http-check send hdr NAME VALUE` lines, in order. */
  headers?: [string, string][];
  /** `http-check send body STRING`. */
  body?: string;
  /** `http-check disable-on-404`: a 404 answer puts an UP server in NOLB (no new traffic,
   * persistent requests still go there) instead of failing the check. */
  disableOn404?: boolean;
}

/** One `tcp-check` rule. Bytes are already decoded (`send` text, `send-binary` hex). */
export type TcpCheckRule =
  | { kind: "connect"; port: number | null; loc?: Loc }
  | { kind: "send"; data: Uint8Array; loc?: Loc }
  | {
    kind: "expect";
    /** string: contains; binary: contains the bytes; rstring / rbinary: regex on latin1 text. */
    match: "string" | "binary" | "rstring" | "rbinary";
    /** The text (string, rstring, rbinary) or the hex digits (binary) as written. */
    pattern: string;
    negate: boolean;
    /** `min-recv N`: bytes to read before deciding. */
    minRecv?: number;
    loc?: Loc;
  };

/** A non-HTTP health check (HAProxy's protocol checks and `tcp-check` rule lists). */
export type CheckSpec =
  | { kind: "tcp-check"; rules: TcpCheckRule[] }
  | { kind: "ssl-hello" }
  | { kind: "mysql"; user: string | null; post41: boolean }
  | { kind: "pgsql"; user: string }
  | { kind: "redis" };

export interface ProxyOptions {
  httplog: boolean;
  dontlognull: boolean;
  /** `option allbackups`: with no active server usable, balance over every usable backup. */
  allbackups: boolean;
  httpServerClose: boolean;
  httpPretendKeepalive: boolean;
  httpKeepAlive: boolean;
  httpclose: boolean;
  forwardfor: ForwardForOption | null;
  originalto: OriginalToOption | null;
  redispatch: boolean;
  httpchk: HttpCheck | null;
  /** `option tcplog`: HAProxy's tcplog access line (mode tcp). */
  tcplog: boolean;
  /** `option ssl-hello-chk|mysql-check|pgsql-check|redis-check|tcp-check`; wins over httpchk
   * only when set after it (the builder keeps the last one, as HAProxy does). */
  tcpCheck: CheckSpec | null;
}

export interface Timeouts {
  connect: Millis | null;
  client: Millis | null;
  server: Millis | null;
  tunnel: Millis | null;
  httpRequest: Millis | null;
  httpKeepAlive: Millis | null;
  check: Millis | null;
  queue: Millis | null;
  /** Inactivity of a half-closed connection, client and server side (mode tcp, tunnels). */
  clientFin: Millis | null;
  serverFin: Millis | null;
}

/** Settings a `defaults` section gives and a frontend or backend may override; already resolved. */
export interface ProxySettings {
  /** http: HTTP and WebSocket; tcp: a byte tunnel per connection (src/tcp/). */
  mode: "http" | "tcp";
  options: ProxyOptions;
  retries: number;
  /** Frontend: max concurrent client connections (0 = global maxconn). */
  maxconn: number;
  timeouts: Timeouts;
  /** Resolved log targets of this proxy (`log global` copies the global ones); [] = no log. */
  log: LogTarget[];
  /** `monitor-uri` (frontends): answered by the frontend itself (src/rules/monitor.ts). */
  monitorUri?: string;
}

export interface Bind extends Address {
  text: string;
  loc: Loc;
  /** `bind ... ssl crt ...`: TLS on this listener (absent: plain HTTP). */
  ssl?: BindSsl;
}

/** TLS settings of a bind, with its certificates already loaded (control plane, at load). */
export interface BindSsl {
  /** `crt` paths as written (files or directories). */
  crt: { path: string; loc: Loc }[];
  /** The certificates, in order (the first is the default one). */
  certs: CertEntry[];
  /** ALPN protocols offered. */
  alpn: string[];
  /** Identifies the certificates' content: a reload with other ones opens a new listener. */
  fingerprint: string;
}

/** `acl NAME FETCH [flags] [operator] VALUE...`: text is everything after NAME. */
export interface AclLine {
  name: string;
  text: string;
  loc: Loc;
}

export interface UseBackendRule {
  backend: string;
  polarity: "if" | "unless";
  /** Condition text as written, e.g. "srv1_up srv1" or "{ path_beg /api } || is_api". */
  condition: string;
  /** Where the condition text starts (ACL errors add their word offset to it). */
  loc: Loc;
  /** Where the backend name is written. */
  backendLoc?: Loc;
}

/** `use-server NAME if|unless COND`: the server named, when the condition holds and the server
 * is not stopped (DOWN or MAINT). */
export interface UseServerRule {
  server: string;
  polarity: "if" | "unless";
  /** Condition text as written; `loc` is where it starts. */
  condition: string;
  loc: Loc;
  /** Where the server name is written. */
  serverLoc: Loc;
}

/** `tcp-request content accept|reject [if|unless COND]`. */
export interface TcpContentRule {
  action: "accept" | "reject";
  /** null: unconditional. */
  polarity: "if" | "unless" | null;
  condition: string;
  /** Where the condition text starts (or the rule, unconditional). */
  loc: Loc;
}

/** `tcp-request inspect-delay` + `tcp-request content` rules of a frontend (mode tcp). */
export interface TcpRequest {
  /** How long the first bytes may be waited for; null: no wait (rules see what is there). */
  inspectDelay: Millis | null;
  content: TcpContentRule[];
}

export interface FrontendConfig {
  name: string;
  binds: Bind[];
  /** ACL lines in file order; the same name more than once ORs. */
  acls: AclLine[];
  useBackend: UseBackendRule[];
  defaultBackend: string | null;
  settings: ProxySettings;
  /** mode tcp: inspect-delay and content rules (absent: none). */
  tcpRequest?: TcpRequest;
  /** `http-request` / `http-response` rules in order (absent: none). */
  /** `monitor fail if|unless COND`: "if COND" text; the monitor answers 503 when it holds. */
  monitorFail?: RuleLine;
  httpRequest?: RuleLine[];
  httpResponse?: RuleLine[];
  /** `errorfile CODE FILE` (and `errorfiles` imports): this proxy's own error answers. */
  errorPages?: Record<number, ErrorPage>;
  /** `stats enable|uri|auth|...`: the stats page served by this proxy (src/admin/listen.ts). */
  stats?: StatsConfig | null;
  loc: Loc;
}

/** HAProxy's `stats` lines in a proxy: the stats page at `uri` on its own listeners. */
export interface StatsConfig {
  /** Prefix of the request URI that gets the page (HAProxy's default `/haproxy?stats`). */
  uri: string;
  /** `stats auth USER:PASS` lines (Basic authentication); empty: no authentication. */
  auth: { user: string; password: string }[];
  realm: string;
  /** `stats refresh`: the page asks the browser to reload it (Refresh header). */
  refresh: Millis | null;
  /** `stats admin if|unless COND`: who may change server states from the page. */
  admin: { polarity: "if" | "unless"; condition: string; loc: Loc } | null;
  hideVersion: boolean;
  showLegends: boolean;
  /** `stats show-node [NAME]` / `show-desc [TEXT]`: shown in the page's header. */
  node: string | null;
  desc: string | null;
  loc: Loc;
}

/** An `errorfile`'s answer, read and checked at load, as HAProxy 2.6 sends it. */
export interface ErrorPage {
  /** The file it came from. */
  file: string;
  /** Status of the answer (the file's status line). */
  status: number;
  /** The bytes (latin1 text) on a connection that stays open, and on one that closes. */
  open: string;
  closing: string;
  /** The connection closes after it (the file gives no Content-Length, or is empty). */
  closes: boolean;
}

export interface ServerConfig {
  name: string;
  address: Address;
  addressText: string;
  check: boolean;
  track: { backend: string; server: string } | null;
  weight: number;
  backup: boolean;
  inter: Millis;
  fastinter: Millis;
  downinter: Millis;
  rise: number;
  fall: number;
  /** 0 = unlimited. */
  maxconn: number;
  /** Starts in MAINT (HAProxy's `disabled`). */
  disabled: boolean;
  /** Wt session-id prefix for `affinity` (e.g. "wt1"); null when not given. */
  prefix: string | null;
  /** `port N`: health checks go to this port (else the server's). */
  checkPort?: number | null;
  /** `addr A`: health checks go to this address (else the server's). */
  checkAddr?: string | null;
  /**
   * `on-marked-down shutdown-sessions`: the server's streams (tcp sessions, WebSocket tunnels,
   * HTTP exchanges in progress) are cut when it goes DOWN or into maintenance.
   */
  onMarkedDown?: "shutdown-sessions" | null;
  /** DNS discovery (`resolvers`, `server-template`); absent or null for a fixed address. */
  dns?: ServerDns | null;
  /** HAProxy's server `cookie VALUE` (cookie persistence); null/absent when not given. */
  cookie?: string | null;
  loc: Loc;
}

/** How a server's address is found in DNS (HAProxy's `resolvers` + `server-template`). */
export interface ServerDns {
  /** Name of the `resolvers` section. */
  resolvers: string;
  /** The name resolved: A/AAAA, or an SRV name (`_wt._tcp.wt.default.svc.cluster.local`). */
  fqdn: string;
  /** SRV: targets and ports from SRV records, addresses from their A/AAAA records. */
  srv: boolean;
  /** Family tried first (HAProxy's default ipv6); the other one when it has no record. */
  resolvePrefer: "ipv4" | "ipv6";
  /** `init-addr`: "last", "libc", "none" or an IP address, in order. */
  initAddr: string[];
  /** Wt prefix from the DNS name: "dns-label" = first label without non-alphanumerics. */
  prefixFrom: "dns-label" | null;
  /** From `server-template PREFIX NUM FQDN`: this slot's 1-based index among `count`. */
  template: { prefix: string; index: number; count: number } | null;
  /** Where `resolvers` is written (messages). */
  resolversLoc?: Loc;
}

/** A `resolvers NAME` section. Durations in ms. */
export interface ResolversConfig {
  name: string;
  nameservers: { name: string; host: string; port: number; loc: Loc }[];
  /** Nameservers of /etc/resolv.conf added at start (`parse-resolv-conf`). */
  parseResolvConf: boolean;
  hold: {
    valid: Millis;
    nx: Millis;
    timeout: Millis;
    refused: Millis;
    other: Millis;
    obsolete: Millis;
  };
  resolveRetries: number;
  timeoutResolve: Millis;
  timeoutRetry: Millis;
  acceptedPayloadSize: number;
  loc: Loc;
}

/** HAProxy's `cookie NAME ...` in a backend: cookie persistence (src/persist/cookie.ts). */
export interface CookieConfig {
  name: string;
  /** "passive": none of insert/rewrite/prefix given: the cookie is only read. */
  mode: "insert" | "rewrite" | "prefix" | "passive";
  indirect: boolean;
  nocache: boolean;
  postonly: boolean;
  preserve: boolean;
  httponly: boolean;
  secure: boolean;
  domains: string[];
  /** `attr VALUE`: extra attributes appended to the inserted cookie. */
  attrs: string[];
  maxidle: Millis | null;
  maxlife: Millis | null;
  /** `dynamic`: servers without `cookie VALUE` get one derived from `dynamicKey` and their
   * address (HAProxy's XXH64 of key + IP + port); no key: no value. */
  dynamic?: boolean;
  dynamicKey?: string | null;
  loc: Loc;
}

export interface BackendConfig {
  name: string;
  /** loc: where `balance` is written (the backend's loc when it is not). */
  balance: { algorithm: string; param: string | null; loc?: Loc };
  servers: ServerConfig[];
  /** Wt shorthand: route by the URL parameter's prefix to the server with that `prefix`. */
  affinity: { urlParam: string } | null;
  /** Cookie persistence (`cookie NAME insert ...`); null/absent when not configured. */
  cookie?: CookieConfig | null;
  /** `errorfile CODE FILE`: this backend's error answers (before the frontend's). */
  errorPages?: Record<number, ErrorPage>;
  /** `stats ...`: the stats page, served to requests routed to this backend. */
  stats?: StatsConfig | null;
  settings: ProxySettings;
  /** `http-request` / `http-response` rules in order (absent: none). */
  httpRequest?: RuleLine[];
  httpResponse?: RuleLine[];
  /** ACL lines its rules may name, in file order (absent: none; the same name ORs). */
  acls?: AclLine[];
  /** `use-server NAME if|unless COND`, in order: before cookies and balancing (absent: none). */
  useServer?: UseServerRule[];
  loc: Loc;
}

/** One `http-request` / `http-response` rule, in HAProxy's syntax ("set-header X-A 1 if b"). */
export interface RuleLine {
  text: string;
  /** Where the text starts (problems add their word offset to it). */
  loc: Loc;
}

export interface AdminConfig {
  bind: Bind;
  /** When set, every admin request must carry it (Authorization: Bearer TOKEN). */
  token: string | null;
  loc: Loc;
}

export interface Config {
  file: string;
  format: "yaml" | "cfg";
  global: GlobalSection;
  frontends: FrontendConfig[];
  backends: BackendConfig[];
  admin: AdminConfig | null;
  /** `resolvers` sections (DNS discovery); absent = none. */
  resolvers?: ResolversConfig[];
  /** Non-fatal messages found while loading (errors throw ConfigError instead). */
  warnings: Diagnostic[];
}
