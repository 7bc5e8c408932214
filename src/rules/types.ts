// What compiled rules are made of: a condition and what to do. Header operations change the
// message and go on; answers (redirect, deny, return) end the rule list and the request.
import type { Test } from "../acl/acl.ts";
import type { RouteContext } from "../acl/router.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { Format } from "./sample.ts";

export type HeaderOp =
  | { kind: "set" | "add"; name: string; value: Format }
  | { kind: "del"; name: string };

/** An answer wtproxy gives itself. */
export interface Reply {
  status: number;
  reason: string;
  /** "name: value\r\n" lines (the framing is added by the client side). */
  lines: string;
  body: Uint8Array;
  /** The connection closes after it (deny 400/408). */
  closes: boolean;
  /** 204/304: no body and no Content-Length. */
  bodiless?: boolean;
}

export interface Answer {
  kind: "redirect" | "deny" | "return" | "service";
  make(req: RequestInfo, ctx: RouteContext): Reply;
}

export interface Rule {
  /** null: unconditional. */
  test: Test | null;
  do: HeaderOp | Answer;
}
