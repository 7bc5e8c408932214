// TLS fetches of the client connection: ssl_fc (it is TLS) and ssl_fc_sni. Deno's TLS server
// reports neither the client's SNI nor the negotiated version per connection (its SNI resolver
// sees each name once per listener), so ssl_fc_sni is the name the client addressed in Host
// (port dropped; empty for an IP address, for which clients send no SNI), which is the SNI for
// browsers and curl; ssl_fc_protocol is refused at load rather than guessed.
import type { RequestInfo } from "../../proxy/request.ts";
import { AclError, fetches } from "../types.ts";

fetches.set("ssl_fc", {
  type: "bool",
  minArgs: 0,
  maxArgs: 0,
  compile: () => (req) => req.tls != null,
});

/** The host name of a Host header value, or null for an IP literal (no SNI is sent then). */
export function sniOfHost(host: string | null): string | null {
  if (host === null || host === "" || host.startsWith("[")) return null;
  const colon = host.lastIndexOf(":");
  const name = (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
  if (name === "" || /^[0-9.]+$/.test(name)) return null;
  return name;
}

fetches.set("ssl_fc_sni", {
  type: "str",
  minArgs: 0,
  maxArgs: 0,
  compile: () => (req: RequestInfo) => req.tls == null ? null : sniOfHost(req.headers.get("host")),
  caveat: "Deno does not report a connection's SNI: wtproxy takes the Host header's name " +
    "(what browsers and curl send as SNI); a client may send another SNI than its Host",
});

fetches.set("ssl_fc_protocol", {
  type: "str",
  minArgs: 0,
  maxArgs: 0,
  compile: () => {
    throw new AclError(
      "ssl_fc_protocol is not available: Deno's TLS server does not report the negotiated " +
        "version (TLSv1.2 or TLSv1.3) of a connection",
    );
  },
});

fetches.set("ssl_fc_alpn", {
  type: "str",
  minArgs: 0,
  maxArgs: 0,
  compile: () => (req: RequestInfo) => req.tls?.alpn ?? null,
});
