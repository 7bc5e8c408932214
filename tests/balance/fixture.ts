// Configurations and requests built by hand for the routing tests (no parser, no sockets);
// the model builders themselves are in tests/helpers/config.ts.
import type { Config } from "../../src/config/model.ts";
import { backend, config, frontend, server } from "../helpers/config.ts";
import { type RequestInfo, splitTarget } from "../../src/proxy/request.ts";

/** The same two Wt servers with the `affinity` shorthand: one backend, no ACLs. */
export function shorthandConfig(port1 = 9090, port2 = 9091): Config {
  return config(
    [frontend([], [], "app")],
    [
      backend("app", [
        server("srv1", port1, { check: true, prefix: "wt1" }),
        server("srv2", port2, { check: true, prefix: "wt2" }),
      ], { affinity: { urlParam: "wtd" } }),
    ],
  );
}

export interface ReqOptions {
  method?: string;
  headers?: Record<string, string> | [string, string][];
  src?: string;
  srcPort?: number;
  dst?: string;
  dstPort?: number;
  version?: string;
}

export function req(target: string, o: ReqOptions = {}): RequestInfo {
  const { path, query } = splitTarget(target);
  return {
    method: o.method ?? "GET",
    target,
    path,
    query,
    version: o.version ?? "HTTP/1.1",
    headers: new Headers(o.headers ?? {}),
    srcIp: o.src ?? "192.0.2.10",
    srcPort: o.srcPort ?? 40000,
    dstIp: o.dst ?? "127.0.0.1",
    dstPort: o.dstPort ?? 8080,
  };
}
