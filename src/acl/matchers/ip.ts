// `ip`: addresses and networks (v4 and v6, `/len` or an IPv4 dotted mask). An IPv4 pattern
// also matches the IPv4-mapped form (::ffff:a.b.c.d) a dual-stack listener reports.
import { AclError, matchers } from "../types.ts";
import { inNetwork, type Network, parseIp, parseNetwork } from "../ip.ts";

matchers.set("ip", {
  input: "ip",
  compile(patterns) {
    const nets: Network[] = patterns.map((p, i) => {
      const n = parseNetwork(p);
      if (!n) throw new AclError(`invalid IP address or network '${p}'`, { patternIndex: i });
      return n;
    });
    return (v) => {
      const ip = parseIp(String(v));
      if (!ip) return false;
      for (const n of nets) if (inNetwork(ip, n)) return true;
      return false;
    };
  },
});
