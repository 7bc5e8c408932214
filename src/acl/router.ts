// What the proxy calls to route a request: compiled use_backend rules of one frontend.
import type { RequestInfo } from "../proxy/request.ts";

export interface Router {
  /** Backend name for `req` (first true use_backend rule, else default_backend), or null (503). */
  route(req: RequestInfo): string | null;
  /** mode tcp: the `tcp-request content` rules, in order (absent or empty: none). */
  content?: readonly ContentRule[];
}

/** One compiled `tcp-request content accept|reject [if|unless COND]`. */
export interface ContentRule {
  action: "accept" | "reject";
  /** The condition as written, before `unless` applies (a miss must be seen before negation). */
  test(req: RequestInfo): boolean;
  /** `unless` */
  negate: boolean;
}

/** What ACL fetches may ask of the running proxy at request time. */
export interface RouteContext {
  /** HAProxy's nbsrv(backend) for the current state. */
  nbsrv(backend: string): number;
  /** The Prometheus text of the running proxy (`http-request use-service prometheus-exporter`). */
  metrics?(): string;
}
