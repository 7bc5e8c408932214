// The one place wtproxy calls Deno's TLS listener. Certificates are chosen per client SNI by
// Deno 2.9's unstable resolver (`Symbol.for("unstableSniResolver")`, --unstable-net); when the
// public `resolveCertificate` option lands, only this file changes. Deno caches the resolver's
// answer per server name for the listener's life, so new certificates (a reload) need a new
// listener: runtime.ts keys TLS listeners by their certificates' fingerprint.
import type { CertSelector } from "./select.ts";

export interface TlsListenOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  backlog?: number;
  /** ALPN protocols offered (wtproxy speaks HTTP/1.1). */
  alpn: string[];
  select: CertSelector;
}

const SNI_RESOLVER = Symbol.for("unstableSniResolver");

export function listenTls(o: TlsListenOptions): Deno.TlsListener {
  const opts = {
    hostname: o.hostname,
    port: o.port,
    alpnProtocols: o.alpn,
    reusePort: o.reusePort,
    tcpBacklog: o.backlog && o.backlog > 0 ? o.backlog : undefined,
    [SNI_RESOLVER]: (serverName: string) => {
      const c = o.select(serverName);
      return { cert: c.cert, key: c.key };
    },
  };
  return Deno.listenTls(opts as unknown as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem);
}
