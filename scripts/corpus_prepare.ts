// Makes a real-world HAProxy file checkable on this machine without changing what it means:
// environment variables it uses get plausible values, files it names (error pages, certificates,
// map files, Lua scripts) are stubbed under a scratch directory and the paths rewritten there,
// and the host names of its servers are listed so HAProxy can resolve them to 127.0.0.1.
// Used by scripts/corpus.ts and tests/config/corpus_test.ts.

export interface Prepared {
  /** The file text with absolute file paths moved under `stubDir`. */
  text: string;
  /** Values for the environment variables the file names. */
  env: Record<string, string>;
  /** Host names found in server/log/peer/nameserver addresses (to map to 127.0.0.1). */
  hosts: string[];
}

/** A self-signed certificate and key, made once per run by the caller (openssl). */
export interface Stubs {
  dir: string;
  pem: string;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
// HAProxy's own variables are set by HAProxy itself.
const HAPROXY_SET = new Set(["HAPROXY_LOCALPEER", "HAPROXY_CFGFILES", "HAPROXY_MWORKER"]);

/** A plausible value for an environment variable, from its name. */
export function envValue(name: string): string {
  const n = name.toUpperCase();
  if (/PORT/.test(n)) return "8080";
  if (/MAXCONN|COUNT|NUM|SIZE|LIMIT|THREADS/.test(n)) return "100";
  if (/HOST|ADDR|IP\b|_IP|SERVER|BACKEND|UPSTREAM/.test(n)) return "127.0.0.1";
  if (/DOMAIN/.test(n)) return "example.com";
  if (/CERT|PEM|CRT/.test(n)) return "/cert.pem"; // stubbed like any other path
  if (/PASS|USER|SECRET|TOKEN|KEY/.test(n)) return "secret";
  return "value";
}

const IS_IP = /^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-fA-F:]*:[0-9a-fA-F:.]*\]?)$/;

function hostOf(addr: string): string | null {
  if (addr.startsWith("[") || /^(unix|abns|ipv4|ipv6|fd|sockpair|udp|tcp)@/.test(addr)) {
    return null;
  }
  if (addr.startsWith("/") || addr.includes("$") || addr.includes("{")) return null;
  const host = addr.includes(":") ? addr.slice(0, addr.lastIndexOf(":")) : addr;
  if (host === "" || host === "*" || IS_IP.test(host) || host.includes(":")) return null;
  if (!/^[A-Za-z0-9_.-]+$/.test(host)) return null;
  return host;
}

/** Keywords whose next argument is a file (bind/server options included). */
const FILE_ARGS = new Set([
  "errorfile",
  "crt",
  "ca-file",
  "crl-file",
  "crt-list",
  "lua-load",
  "lua-load-per-thread",
  "lf-file",
  "file",
  "-f",
  "ca-base",
  "crt-base",
  "issuers-chain-path",
  "ssl-dh-param-file",
]);

/** Stub content for a file path, from the keyword that names it. */
function stubContent(keyword: string, path: string, pem: string, line: string): string {
  if (keyword === "errorfile" || /\.http$/.test(path)) {
    const code = line.match(/errorfile\s+(\d{3})/)?.[1] ??
      line.match(/status\s+(\d{3})/)?.[1] ?? "503";
    return `HTTP/1.0 ${code} Error\r\nCache-Control: no-cache\r\nConnection: close\r\n` +
      `Content-Type: text/html\r\n\r\n<html><body><h1>${code}</h1></body></html>\n`;
  }
  if (["crt", "ca-file", "crl-file"].includes(keyword) || /\.(pem|crt|key)$/.test(path)) return pem;
  if (keyword === "lua-load" || keyword === "lua-load-per-thread") return "-- stub\n";
  return "";
}

/**
 * Prepares `text` for checking. Creates stub files under `stubs.dir` (call with a fresh
 * directory per file).
 */
export function prepare(text: string, stubs: Stubs): Prepared {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(ENV_REF)) {
    const name = m[1] ?? m[2];
    if (!HAPROXY_SET.has(name)) env[name] = envValue(name);
  }
  const hosts = new Set<string>();
  const files = new Map<string, string>();
  let crtBase = "";
  const out = text.split("\n").map((line) => {
    const code = line.replace(/(^|\s)#.*$/, "");
    const words = code.trim().split(/\s+/);
    if (["server", "peer", "nameserver", "server-template"].includes(words[0])) {
      const addr = words[0] === "server-template" ? words[3] : words[2];
      const h = addr && hostOf(addr);
      if (h) hosts.add(h);
    }
    if (words[0] === "log" && words[1]) {
      const h = hostOf(words[1]);
      if (h && !["global", "stdout", "stderr"].includes(h)) hosts.add(h);
    }
    if (words[0] === "crt-base" && words[1]) crtBase = words[1];
    // map converters and acl -f files: ,map*(PATH...)
    let rewritten = line.replace(/(,map(?:_\w+)?\()(\/[^,)\s]+)/g, (_m, head, path) => {
      files.set(path, "");
      return `${head}${stubs.dir}${path}`;
    });
    const toks = rewritten.split(/(\s+)/);
    for (let i = 0; i + 2 < toks.length; i += 2) {
      const key = toks[i];
      let path = toks[i + 2];
      if (!FILE_ARGS.has(key) || !path || path.startsWith("#")) continue;
      const env1 = path.replace(ENV_REF, (_m, a, b) => env[a ?? b] ?? "");
      path = env1.replace(/^"(.*)"$/, "$1");
      if (key === "crt" && !path.startsWith("/") && crtBase) path = `${crtBase}/${path}`;
      if (!path.startsWith("/")) continue;
      if (key === "ca-base" || key === "crt-base" || path.endsWith("/")) {
        files.set(path.endsWith("/") ? `${path}stub.pem` : `${path}/.keep`, stubs.pem);
      } else {
        files.set(path, stubContent(key, path, stubs.pem, line));
      }
      toks[i + 2] = `${stubs.dir}${path}`;
    }
    rewritten = toks.join("");
    return rewritten;
  });
  for (const [path, content] of files) {
    const full = `${stubs.dir}${path}`;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    try {
      Deno.writeTextFileSync(full, content);
    } catch { /* a directory of that name */ }
  }
  return { text: out.join("\n"), env, hosts: [...hosts].sort() };
}

/** A self-signed certificate + key in one PEM (HAProxy's `crt` format). */
export async function makePem(dir: string): Promise<string> {
  const key = `${dir}/k.pem`, cert = `${dir}/c.pem`;
  const { success } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!success) throw new Error("openssl could not make a certificate");
  return (await Deno.readTextFile(cert)) + (await Deno.readTextFile(key));
}
