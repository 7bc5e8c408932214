// IPv4 and IPv6 addresses as four 32-bit words (IPv4 as ::ffff:a.b.c.d), so one network
// test serves both families and an IPv4 pattern matches an IPv4-mapped client address.

/** An address: four unsigned 32-bit words, most significant first. */
export type Ip = [number, number, number, number];

export interface Network {
  addr: Ip;
  mask: Ip;
}

function parseV4(s: string): number | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

function parseV6(s: string): Ip | null {
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone !== -1) s = s.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) !== -1) {
    const tail = parseV4(s.slice(lastColon + 1));
    if (tail === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(tail >>> 16).toString(16)}:${(tail & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const read = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = read(halves[0]);
  const rest = halves.length === 2 ? read(halves[1]) : [];
  if (!head || !rest) return null;
  let groups: number[];
  if (halves.length === 1) {
    if (head.length !== 8) return null;
    groups = head;
  } else {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array(fill).fill(0), ...rest];
  }
  return [
    (groups[0] * 65536 + groups[1]) >>> 0,
    (groups[2] * 65536 + groups[3]) >>> 0,
    (groups[4] * 65536 + groups[5]) >>> 0,
    (groups[6] * 65536 + groups[7]) >>> 0,
  ];
}

/** Parses an IPv4 or IPv6 address (brackets and zone ids allowed); null if it is not one. */
export function parseIp(s: string): Ip | null {
  if (s.indexOf(":") === -1) {
    const v4 = parseV4(s);
    return v4 === null ? null : [0, 0, 0xffff, v4];
  }
  return parseV6(s);
}

function maskOf(bits: number): Ip {
  const m: Ip = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const b = Math.max(0, Math.min(32, bits - i * 32));
    m[i] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  }
  return m;
}

/**
 * Parses `ADDR`, `ADDR/LEN` or IPv4 `ADDR/DOTTED.MASK` (as HAProxy accepts); null if invalid.
 * IPv4 prefix lengths count within the mapped range (/24 -> /120).
 */
export function parseNetwork(s: string): Network | null {
  const slash = s.indexOf("/");
  const addrText = slash === -1 ? s : s.slice(0, slash);
  const addr = parseIp(addrText);
  if (!addr) return null;
  const v4 = addrText.indexOf(":") === -1;
  let bits = 128;
  if (slash !== -1) {
    const m = s.slice(slash + 1);
    if (/^\d{1,3}$/.test(m)) {
      bits = Number(m);
      if (bits > (v4 ? 32 : 128)) return null;
      if (v4) bits += 96;
    } else if (v4) {
      const dotted = parseV4(m);
      if (dotted === null) return null;
      const len = 32 - Math.log2(((~dotted) >>> 0) + 1);
      if (!Number.isInteger(len)) return null; // not a contiguous mask
      bits = 96 + len;
    } else return null;
  }
  const mask = maskOf(bits);
  return { addr: addr.map((w, i) => (w & mask[i]) >>> 0) as Ip, mask };
}

export function inNetwork(ip: Ip, net: Network): boolean {
  for (let i = 0; i < 4; i++) {
    if (((ip[i] & net.mask[i]) >>> 0) !== net.addr[i]) return false;
  }
  return true;
}
