// `bind: { address, ssl: { crt, alpn, ssl-min-ver, ssl-max-ver } }` (HAProxy's `bind ADDR ssl
// crt FILE ...`): the certificates are loaded and checked here, once per load (start and every
// reload), so `-c` reports a missing file, a missing or mismatched key, or a file that is not
// PEM at the `crt` value, and the runtime gets the PEM material with the configuration.
import type { BindSsl, Loc, SrcNode } from "../model.ts";
import { type CertEntry, loadCrt } from "../../tls/certs.ts";
import type { Reader } from "./reader.ts";
import { describe } from "./reader.ts";

/** TLS versions Deno's TLS (rustls) speaks: both are always offered. */
const VERSIONS = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

function version(r: Reader, node: SrcNode, path: string, which: "min" | "max"): void {
  if (node.kind !== "scalar" || typeof node.value !== "string" || !VERSIONS.includes(node.value)) {
    r.error(node.loc, `${path}: expected one of ${VERSIONS.join(", ")}, got ${describe(node)}`);
    return;
  }
  const v = node.value;
  if (which === "min" && v === "TLSv1.3") {
    r.error(
      node.loc,
      `${path}: TLSv1.3 only cannot be enforced: Deno's TLS (rustls) always offers TLSv1.2 and ` +
        `TLSv1.3 and has no setting to restrict them`,
    );
  } else if (which === "max" && v !== "TLSv1.3") {
    r.error(
      node.loc,
      `${path}: ${v} cannot be the highest version: Deno's TLS (rustls) always offers TLSv1.2 ` +
        `and TLSv1.3 and has no setting to restrict them`,
    );
  } else if (which === "min" && v !== "TLSv1.2") {
    r.error(
      node.loc,
      `${path}: ${v} is not available: wtproxy's TLS (rustls) speaks TLSv1.2 and TLSv1.3 only ` +
        `(older versions are insecure and not implemented); use ssl-min-ver TLSv1.2`,
    );
  }
}

/** A short digest of the certificates' content (cheap, not cryptographic: it only tells change). */
function fingerprint(certs: readonly CertEntry[]): string {
  let h = 2166136261;
  for (const c of certs) {
    for (const s of [c.cert, c.key]) {
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    }
  }
  return `${certs.length}:${h.toString(16)}`;
}

export function readBindSsl(r: Reader, node: SrcNode, path: string): BindSsl | undefined {
  const m = r.map(node, path);
  if (!m) return undefined;
  const f = r.fields(m, ["crt", "alpn", "ssl-min-ver", "ssl-max-ver"], path, `${path}.`);
  const crtE = f.get("crt");
  if (!crtE) {
    r.error(m.loc, `${path}: missing "crt" (a PEM file with the certificate and its key)`);
    return undefined;
  }
  const items = crtE.value.kind === "seq" ? crtE.value.items : [crtE.value];
  const crt: { path: string; loc: Loc }[] = [];
  const certs: CertEntry[] = [];
  for (const item of items) {
    if (item.kind !== "scalar" || typeof item.value !== "string" || item.value === "") {
      r.error(item.loc, `${path}.crt: expected a file or directory path, got ${describe(item)}`);
      continue;
    }
    crt.push({ path: item.value, loc: item.loc });
    const problems: { severity: "error" | "warning"; message: string }[] = [];
    certs.push(...loadCrt(item.value, problems));
    for (const p of problems) {
      if (p.severity === "error") r.error(item.loc, `${path}.crt: ${p.message}`);
      else r.warn(item.loc, `${path}.crt: ${p.message}`);
    }
  }
  let alpn = ["http/1.1"];
  const alpnE = f.get("alpn");
  if (alpnE) {
    const v = r.str(alpnE, `${path}.alpn`);
    if (v !== undefined) {
      const protos = v.split(",").map((s) => s.trim()).filter((s) => s);
      if (!protos.includes("http/1.1")) {
        r.error(alpnE.value.loc, `${path}.alpn: wtproxy speaks http/1.1: it must be in the list`);
      } else if (protos.some((p) => p !== "http/1.1")) {
        r.warn(
          alpnE.value.loc,
          `${path}.alpn: only http/1.1 is offered (wtproxy does not speak ${
            protos.filter((p) => p !== "http/1.1").join(", ")
          } yet: such clients get HTTP/1.1)`,
        );
      }
      alpn = ["http/1.1"];
    }
  }
  const minE = f.get("ssl-min-ver");
  if (minE) version(r, minE.value, `${path}.ssl-min-ver`, "min");
  const maxE = f.get("ssl-max-ver");
  if (maxE) version(r, maxE.value, `${path}.ssl-max-ver`, "max");
  return { crt, certs, alpn, fingerprint: fingerprint(certs) };
}
