// Certificates for `bind ... ssl crt FILE|DIR`, loaded as HAProxy does: a PEM file with the
// certificate chain and the private key, or the key in a `.key` file beside it; a directory
// gives every certificate file in it, in name order. Checked once per load (node:crypto's
// X509Certificate): a missing file, no key, a key that does not match, no PEM certificate are
// errors; an expired or not yet valid certificate is a warning. The result is plain data (PEM
// strings and names) that the listeners use without touching the disk.
import { createPrivateKey, X509Certificate } from "node:crypto";

export interface CertEntry {
  /** The file the certificate came from (for messages). */
  file: string;
  /** The certificate chain (leaf first), PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /** DNS names it serves, lower-cased (SAN, else CN); `*.example.com` for wildcards. */
  names: string[];
  /** Validity, ms since the epoch. */
  notBefore: number;
  notAfter: number;
}

export interface CertProblem {
  severity: "error" | "warning";
  message: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK =
  /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
/** Files of a crt directory that are not certificates (HAProxy's extra files). */
const EXTRA = /\.(key|ocsp|issuer|sctl|csr|srl)$/;

function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** The names a certificate serves: its DNS subject alternative names, else its CN. */
function namesOf(x: X509Certificate): string[] {
  const san = x.subjectAltName;
  if (san) {
    const dns = san.split(/,\s*/).filter((s) => s.startsWith("DNS:")).map((s) =>
      s.slice(4).toLowerCase()
    );
    if (dns.length > 0) return dns;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject);
  return cn ? [cn[1].trim().toLowerCase()] : [];
}

/** One certificate file (key inside or beside it). */
function loadFile(path: string, text: string, problems: CertProblem[]): CertEntry | null {
  const certs = text.match(CERT_BLOCK);
  if (!certs) {
    problems.push({ severity: "error", message: `'${path}' holds no PEM certificate` });
    return null;
  }
  let key = KEY_BLOCK.exec(text)?.[0] ?? null;
  if (key === null) {
    // HAProxy: the key may be in a .key file beside the certificate.
    const base = path.replace(/\.(pem|crt|cer)$/, "");
    for (const k of new Set([`${base}.key`, `${path}.key`])) {
      const t = read(k);
      const m = t !== null ? KEY_BLOCK.exec(t) : null;
      if (m) {
        key = m[0];
        break;
      }
    }
  }
  if (key === null) {
    problems.push({
      severity: "error",
      message: `'${path}' has no private key (put it in the file after the certificate, or in ` +
        `${path.replace(/\.(pem|crt|cer)$/, "")}.key)`,
    });
    return null;
  }
  if (key.includes("ENCRYPTED")) {
    problems.push({ severity: "error", message: `'${path}': the private key is encrypted` });
    return null;
  }
  let x: X509Certificate;
  try {
    x = new X509Certificate(certs[0]);
  } catch (err) {
    problems.push({
      severity: "error",
      message: `'${path}': the certificate cannot be read: ${(err as Error).message}`,
    });
    return null;
  }
  try {
    if (!x.checkPrivateKey(createPrivateKey(key))) {
      problems.push({
        severity: "error",
        message: `'${path}': the private key does not match the certificate`,
      });
      return null;
    }
  } catch (err) {
    problems.push({
      severity: "error",
      message: `'${path}': the private key cannot be read: ${(err as Error).message}`,
    });
    return null;
  }
  const notBefore = Date.parse(x.validFrom);
  const notAfter = Date.parse(x.validTo);
  const now = Date.now();
  if (now > notAfter) {
    problems.push({
      severity: "warning",
      message: `'${path}': the certificate expired on ${new Date(notAfter).toISOString()}`,
    });
  } else if (now < notBefore) {
    problems.push({
      severity: "warning",
      message: `'${path}': the certificate is not valid before ${
        new Date(notBefore).toISOString()
      }`,
    });
  }
  return {
    file: path,
    cert: certs.join("\n") + "\n",
    key: key + "\n",
    names: namesOf(x),
    notBefore,
    notAfter,
  };
}

/** Loads `crt PATH` (a file or a directory of them); problems name the file and what is wrong. */
export function loadCrt(path: string, problems: CertProblem[]): CertEntry[] {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    problems.push({
      severity: "error",
      message: err instanceof Deno.errors.NotFound
        ? `certificate '${path}' does not exist`
        : `certificate '${path}' cannot be read: ${(err as Error).message}`,
    });
    return [];
  }
  if (!info.isDirectory) {
    const text = read(path);
    const e = text === null ? null : loadFile(path, text, problems);
    return e ? [e] : [];
  }
  const files = [...Deno.readDirSync(path)]
    .filter((d) => d.isFile && !d.name.startsWith(".") && !EXTRA.test(d.name))
    .map((d) => `${path.replace(/\/$/, "")}/${d.name}`)
    .sort();
  if (files.length === 0) {
    problems.push({ severity: "error", message: `certificate directory '${path}' is empty` });
  }
  const out: CertEntry[] = [];
  for (const f of files) {
    const e = loadFile(f, read(f) ?? "", problems);
    if (e) out.push(e);
  }
  return out;
}
