// HAProxy address syntax: `host:port`, `[v6]:port`, `*:port`, `:port`, `0.0.0.0:port`,
// `:::port`. Like HAProxy, the port is after the LAST colon, so an IPv6 address may be written
// without brackets (`:::8080`, `::1:8080`); brackets make it unambiguous.
import type { Address } from "./model.ts";

export class AddressError extends Error {
  override name = "AddressError";
}

export interface AddressOptions {
  /** Port used when the text has none (log targets: 514). Without it a port is required. */
  defaultPort?: number;
  /** Accept port 0 ("any free port"; used by binds so tests can ask for an ephemeral port). */
  allowPortZero?: boolean;
}

const FORMS = `expected host:port, [ipv6]:port, *:port or 0.0.0.0:port`;

/**
 * Parses an address. Wildcards (`*`, empty host, `0.0.0.0`, `::`) come back with host
 * "0.0.0.0" (family any4) or "::" (any6) so the host can be given to a listener as is.
 */
export function parseAddress(input: string, opts: AddressOptions = {}): Address {
  const text = input.trim();
  if (text === "") throw new AddressError(`empty address: ${FORMS}`);
  if (/\s/.test(text)) {
    throw new AddressError(`invalid address "${input}": it contains a space (${FORMS})`);
  }
  let host: string;
  let portText: string | null;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) {
      throw new AddressError(`invalid address "${input}": missing "]" after the IPv6 address`);
    }
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest === "") portText = null;
    else if (rest.startsWith(":")) portText = rest.slice(1);
    else throw new AddressError(`invalid address "${input}": expected ":port" after "]"`);
    if (!isIPv6(host)) {
      throw new AddressError(`invalid address "${input}": "${host}" is not an IPv6 address`);
    }
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) {
      host = text;
      portText = null;
    } else {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  let port: number;
  if (portText === null) {
    if (opts.defaultPort === undefined) {
      throw new AddressError(`invalid address "${input}": missing port (${FORMS})`);
    }
    port = opts.defaultPort;
  } else {
    port = parsePort(portText, input, opts.allowPortZero ?? false);
  }
  return { ...classifyHost(host, input), port };
}

function parsePort(text: string, input: string, allowZero: boolean): number {
  if (text === "") throw new AddressError(`invalid address "${input}": missing port after ":"`);
  if (!/^\d+$/.test(text)) {
    throw new AddressError(
      `invalid port "${text}" in "${input}": expected a number from 1 to 65535`,
    );
  }
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw new AddressError(
      `invalid port ${text} in "${input}": expected a number from ${allowZero ? 0 : 1} to 65535`,
    );
  }
  return port;
}

function classifyHost(host: string, input: string): Omit<Address, "port"> {
  if (host === "" || host === "*" || host === "0.0.0.0") {
    return { host: "0.0.0.0", wildcard: true, family: "any4" };
  }
  if (host === "::") return { host: "::", wildcard: true, family: "any6" };
  if (/^[\d.]+$/.test(host)) {
    if (!isIPv4(host)) {
      throw new AddressError(`invalid address "${input}": "${host}" is not a valid IPv4 address`);
    }
    return { host, wildcard: false, family: "ipv4" };
  }
  if (host.includes(":")) {
    if (!isIPv6(host)) {
      throw new AddressError(`invalid address "${input}": "${host}" is not a valid IPv6 address`);
    }
    return { host, wildcard: false, family: "ipv6" };
  }
  if (!isHostName(host)) {
    throw new AddressError(`invalid address "${input}": "${host}" is not a valid host name`);
  }
  return { host, wildcard: false, family: "name" };
}

export function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function isIPv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

function isHostName(text: string): boolean {
  return text.length <= 253 &&
    /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(text);
}

/** `10.0.0.0/8`, `::1/128`, or a bare address (a /32 or /128). Returns an error text or null. */
export function checkCidr(text: string): string | null {
  const [addr, bits, extra] = text.split("/");
  if (extra !== undefined) return `invalid network "${text}": more than one "/"`;
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) return `invalid network "${text}": "${addr}" is not an IP address`;
  if (bits === undefined) return null;
  const max = v4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || Number(bits) > max) {
    return `invalid network "${text}": prefix length must be 0 to ${max}`;
  }
  return null;
}

/** True for addresses that only the local machine can reach (admin without a token). */
export function isLoopback(addr: Address): boolean {
  return (addr.family === "ipv4" && addr.host.startsWith("127.")) ||
    (addr.family === "ipv6" && (addr.host === "::1" || addr.host === "0:0:0:0:0:0:0:1")) ||
    (addr.family === "name" && addr.host.toLowerCase() === "localhost");
}
