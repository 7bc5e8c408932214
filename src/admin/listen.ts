// A proxy's `stats` lines at run time (HAProxy's `listen stats`): requests whose URI starts with
// `stats uri` get the stats page (src/admin/html.ts) instead of a server, after `stats auth`
// (HTTP Basic, `stats realm`); `URI;csv` gives HAProxy's CSV layout; `stats refresh` adds a
// Refresh header; `stats admin if COND` lets the page's forms set servers READY/DRAIN/MAINT
// through the runtime API's state changes.
import type { ErrorPage, StatsConfig } from "../config/model.ts";
import type { AdminState } from "../state.ts";
import { setAdminState } from "../health/machine.ts";
import { compileCondition } from "../acl/condition.ts";
import type { Problem } from "../acl/words.ts";
import type { RouteContext } from "../acl/router.ts";
import type { ClientExchange } from "../downstream/types.ts";
import type { RequestInfo } from "../proxy/request.ts";
import type { AdminRuntime } from "./runtime.ts";
import { statsView } from "./snapshot.ts";
import { renderStatsPage } from "./html.ts";
import { renderCsv } from "./csv.ts";

export interface StatsHandler {
  /** Whether the request is for the page (its URI starts with `stats uri`). */
  matches(info: RequestInfo): boolean;
  /** Answers it; returns the status sent and the bytes written (for the log). */
  serve(
    ex: ClientExchange,
    info: RequestInfo,
    rt: AdminRuntime,
    ctx: RouteContext,
  ): Promise<{ status: number; bytes: number }>;
}

const ACTIONS: Record<string, AdminState> = { ready: "READY", drain: "DRAIN", maint: "MAINT" };
const enc = new TextEncoder();
const UNAUTHORIZED = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and " +
  "password to access this content.\n</body></html>\n";
const MAX_FORM = 64 * 1024;

async function readForm(ex: ClientExchange): Promise<URLSearchParams | null> {
  if (!ex.body) return new URLSearchParams();
  let text = "";
  const dec = new TextDecoder();
  for (;;) {
    const chunk = await ex.body.read();
    if (chunk === null) break;
    text += dec.decode(chunk, { stream: true });
    if (text.length > MAX_FORM) {
      ex.body.cancel();
      return null;
    }
  }
  return new URLSearchParams(text);
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/** Compiles a proxy's stats settings once (the admin condition included). */
export function compileStats(cfg: StatsConfig): StatsHandler {
  const problems: Problem[] = [];
  const cond = cfg.admin ? compileCondition(cfg.admin.condition, new Map(), {}, problems) : null;
  const adminAllowed = (info: RequestInfo, ctx: RouteContext): boolean => {
    if (!cfg.admin || !cond) return false;
    const v = cond(info, ctx);
    return cfg.admin.polarity === "if" ? v : !v;
  };
  const creds = new Set(cfg.auth.map((a) => `${a.user}:${a.password}`));
  const challenge = `www-authenticate: Basic realm="${cfg.realm.replace(/["\\]/g, "")}"\r\n`;
  // HAProxy's 401 page, byte for byte (an ErrorPage, so the connection handling is the same).
  const head401 = `HTTP/1.1 401 Unauthorized\r\ncontent-length: ${UNAUTHORIZED.length}\r\n` +
    `cache-control: no-cache\r\ncontent-type: text/html\r\n${challenge}`;
  const unauthorized: ErrorPage = {
    file: "",
    status: 401,
    open: `${head401}\r\n${UNAUTHORIZED}`,
    closing: `${head401}connection: close\r\n\r\n${UNAUTHORIZED}`,
    closes: false,
  };
  const refresh = cfg.refresh === null ? "" : `refresh: ${Math.ceil(cfg.refresh / 1000)}\r\n`;

  const authorized = (info: RequestInfo): boolean => {
    if (creds.size === 0) return true;
    const h = info.headers.get("authorization");
    const m = h ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h) : null;
    if (!m) return false;
    try {
      return creds.has(atob(m[1]));
    } catch {
      return false;
    }
  };

  return {
    matches: (info) => info.target.startsWith(cfg.uri),
    async serve(ex, info, rt, ctx) {
      if (!authorized(info)) {
        ex.body?.cancel();
        await ex.sendError(401, unauthorized);
        return { status: 401, bytes: ex.errorBytes(401, unauthorized) };
      }
      const admin = adminAllowed(info, ctx);
      if (info.method === "POST") {
        const form = await readForm(ex);
        let st = "DONE";
        if (!admin) st = "DENY";
        else if (!form) st = "ERRP";
        else {
          const state = ACTIONS[form.get("action") ?? ""];
          const b = form.get("b") ?? "";
          const servers = form.getAll("s");
          if (!state || servers.length === 0) st = state ? "NONE" : "ERRP";
          else {
            const set = rt.setAdminState ?? ((k, a) => setAdminState(rt.state, k, a));
            for (const s of servers) {
              try {
                set(`${b}/${s}`, state);
              } catch {
                st = "PART";
              }
            }
          }
        }
        const location = `${cfg.uri};st=${st}`;
        await ex.sendWhole(
          303,
          "See Other",
          `cache-control: no-cache\r\nlocation: ${location}\r\n`,
          new Uint8Array(0),
        );
        return { status: 303, bytes: 0 };
      }
      ex.body?.cancel();
      if (info.target.slice(cfg.uri.length).includes(";csv")) {
        const body = enc.encode(renderCsv(statsView(rt)));
        await ex.sendWhole(
          200,
          "OK",
          "cache-control: no-cache\r\ncontent-type: text/plain\r\n",
          body,
        );
        return { status: 200, bytes: body.length };
      }
      const st = /;st=([A-Z]+)/.exec(info.target)?.[1];
      const notice = st === "DONE"
        ? "Action processed successfully."
        : st === "DENY"
        ? "Action denied."
        : st === "PART"
        ? "Action partially processed (unknown server)."
        : st
        ? "Nothing done: check the servers and the action."
        : null;
      const html = renderStatsPage(statsView(rt), {
        uri: cfg.uri,
        admin,
        hideVersion: cfg.hideVersion,
        showLegends: cfg.showLegends,
        node: cfg.node === null ? null : cfg.node || hostname(),
        desc: cfg.desc,
        notice,
      });
      const body = enc.encode(html);
      await ex.sendWhole(
        200,
        "OK",
        `cache-control: no-cache\r\ncontent-type: text/html\r\n${refresh}`,
        body,
      );
      return { status: 200, bytes: body.length };
    },
  };
}
