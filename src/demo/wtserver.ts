// A Wt-like server for tests and `deno task demo`: it behaves like a Wt application started
// with `--session-id-prefix=P` as far as a proxy can see (haproxy-semantics.md §5):
// - a GET without `wtd` starts a session `P` + 16 chars of [A-Za-z0-9] and answers a page whose
//   links, script and AJAX requests carry `?wtd=<id>`;
// - a request for an id this server does not know gets what Wt gives: a page GET starts a fresh
//   session, `request=jsupdate` / `script` gets a reload instruction, other `request=` values an
//   empty page; so a misrouted request is visible (new session id, or a reload).
// Requests are dispatched on Wt's `request=` parameter through `requestHandlers`: adding a
// route (the WebSocket push endpoint, `request=ws`) is one handler and one line.
import { firstUrlParam } from "../acl/fetches/url.ts";
import { startFront } from "./front.ts";
import { installPush, servePushSocket } from "./push.ts";

export interface Session {
  id: string;
  created: number;
  lastSeen: number;
  /** AJAX updates served to this session. */
  updates: number;
}

/** What a handler gets for one request. */
export interface WtRequest {
  req: Request;
  url: URL;
  /** The raw `wtd` value (first occurrence), or null. */
  wtd: string | null;
  /** The session `wtd` names, when this server knows it. */
  session: Session | undefined;
  /** Wt's `request=` value from the query or the form body; "" for a page request. */
  request: string;
  server: WtServerInfo;
  info: Deno.ServeHandlerInfo;
}

export type RequestHandler = (r: WtRequest) => Response | Promise<Response>;

/** What handlers may use of the server that runs them. */
export interface WtServerInfo {
  readonly prefix: string;
  readonly port: number;
  readonly sessions: Map<string, Session>;
  /** Starts a new session with this server's prefix. */
  newSession(): Session;
  /** Demo controls, when the demo script provides them (buttons on the page). */
  readonly controls: DemoControls | null;
  log(message: string): void;
}

/** One demo server as the page shows it. */
export interface DemoServerStatus {
  name: string;
  port: number;
  running: boolean;
  /** The proxy's view, when the demo can see it: admin state of the balanced entry. */
  admin?: "READY" | "DRAIN" | "MAINT";
  /** Live Wt sessions the proxy counts for it (null: table off). */
  sessions?: number | null;
  /** Draining with no live session left: free to stop or restart. */
  drained?: boolean;
}

/** The demo script's switchboard: stop/start demo servers, drain them in the proxy. */
export interface DemoControls {
  list(): DemoServerStatus[];
  stop(name: string): Promise<void>;
  start(name: string): Promise<void>;
  /** Drain (no new session; live ones stay) or back to ready, in the proxy. */
  drain?(name: string): Promise<void>;
  ready?(name: string): Promise<void>;
}

export interface WtServerOptions {
  /** Session-id prefix, as `--session-id-prefix` (e.g. "wt1"). */
  prefix: string;
  /** 0 = any free port. */
  port?: number;
  hostname?: string;
  controls?: DemoControls;
  /** Idle sessions are forgotten after this long (Wt's session-timeout, default 600 s). */
  sessionTimeoutMs?: number;
  /** Log lines (default: none). */
  log?: (line: string) => void;
}

export interface WtServer extends WtServerInfo {
  readonly hostname: string;
  stop(): Promise<void>;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Wt's session id: prefix + 16 random characters of [A-Za-z0-9]. */
export function generateSessionId(prefix: string): string {
  let id = prefix;
  const bytes = new Uint8Array(32);
  while (id.length < prefix.length + 16) {
    crypto.getRandomValues(bytes);
    // 248 = 4 * 62: reject the tail so every character is equally likely.
    for (const b of bytes) if (b < 248 && id.length < prefix.length + 16) id += ALNUM[b % 62];
  }
  return id;
}

const HTML = { "content-type": "text/html; charset=utf-8" };
const JS = { "content-type": "text/javascript; charset=utf-8" };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `request=` value -> handler. "" is the page; unknown values fall back to "resource". */
export const requestHandlers = new Map<string, RequestHandler>();

// The main page: a known session is shown again, anything else starts a new one.
requestHandlers.set("", ({ session, wtd, server }) => {
  if (!session) {
    if (wtd) server.log(`unknown session ${wtd}: starting a new one`);
    session = server.newSession();
  }
  return new Response(page(server, session, wtd), { headers: headersFor(server, session, HTML) });
});

// Boot script and AJAX updates: a dead session gets "reload" (Wt: "signal from dead session,
// sending reload"), a live one its update.
const update: RequestHandler = ({ session, wtd, server, request }) => {
  if (!session) {
    server.log(`${request} for unknown session ${wtd ?? "(none)"}: sending reload`);
    const body = `wtReload(${JSON.stringify({ server: server.prefix, port: server.port, wtd })});`;
    return new Response(body, { headers: headersFor(server, undefined, JS) });
  }
  if (request === "script") {
    return new Response(bootScript(session), { headers: headersFor(server, session, JS) });
  }
  session.updates++;
  const state = {
    server: server.prefix,
    port: server.port,
    session: session.id,
    updates: session.updates,
  };
  return new Response(`wtUpdate(${JSON.stringify(state)});`, {
    headers: headersFor(server, session, JS),
  });
};
requestHandlers.set("jsupdate", update);
requestHandlers.set("script", update);

// Resources: a dead session gets an empty page (and the session is gone), a live one content.
requestHandlers.set("resource", ({ session, server }) => {
  const body = session
    ? `<!DOCTYPE html><p>resource of session ${session.id} on ${server.prefix}</p>`
    : "<!DOCTYPE html>";
  return new Response(body, { headers: headersFor(server, session, HTML) });
});

// The WebSocket push channel (`request=ws`) and its client in the boot script: src/demo/push.ts.
installPush(requestHandlers);

function headersFor(
  server: WtServerInfo,
  session: Session | undefined,
  type: Record<string, string>,
): Headers {
  return new Headers({
    ...type,
    "cache-control": "no-store",
    "x-wt-server": server.prefix,
    "x-wt-session": session?.id ?? "-",
  });
}

/** Demo controls under /__demo/ (no `wtd`: the proxy balances them to any live server). */
function control(url: URL, req: Request, server: WtServerInfo): Response {
  const c = server.controls;
  if (!c) return new Response("no demo controls\n", { status: 404 });
  const json = (v: unknown, status = 200) =>
    new Response(JSON.stringify(v), {
      status,
      headers: { "content-type": "application/json", "x-wt-server": server.prefix },
    });
  const action = url.pathname.slice("/__demo/".length);
  if (action === "status") return json({ answeredBy: server.prefix, servers: c.list() });
  const name = url.searchParams.get("server") ?? "";
  const run = action === "stop"
    ? c.stop
    : action === "start"
    ? c.start
    : action === "drain"
    ? c.drain
    : action === "ready"
    ? c.ready
    : undefined;
  if (req.method !== "POST" || !run) {
    return json({ error: "POST /__demo/{stop,start,drain,ready}?server=NAME" }, 400);
  }
  if (!c.list().some((s) => s.name === name)) return json({ error: `no server ${name}` }, 404);
  // Answer first: the server being stopped may be the one answering.
  setTimeout(() => run.call(c, name).catch(() => {}), 50);
  return json({ ok: true, action, server: name, answeredBy: server.prefix });
}

export async function startWtServer(opts: WtServerOptions): Promise<WtServer> {
  const prefix = opts.prefix;
  const timeout = opts.sessionTimeoutMs ?? 600_000;
  const sessions = new Map<string, Session>();
  const log = opts.log ?? (() => {});
  let port = opts.port ?? 0;

  const info: WtServerInfo = {
    prefix,
    get port() {
      return port;
    },
    sessions,
    controls: opts.controls ?? null,
    newSession() {
      const now = Date.now();
      // Forget idle sessions lazily (no timer to clean up).
      for (const [id, s] of sessions) if (now - s.lastSeen > timeout) sessions.delete(id);
      const s: Session = { id: generateSessionId(prefix), created: now, lastSeen: now, updates: 0 };
      sessions.set(s.id, s);
      log(`[${prefix}] new session ${s.id}`);
      return s;
    },
    log: (m) => log(`[${prefix}] ${m}`),
  };

  /** The live session `wtd` names (an expired one is forgotten), touched. */
  const lookup = (wtd: string | null): Session | undefined => {
    let session = wtd ? sessions.get(wtd) : undefined;
    if (session && Date.now() - session.lastSeen > timeout) {
      sessions.delete(session.id);
      session = undefined;
    }
    if (session) session.lastSeen = Date.now();
    return session;
  };

  const handler = async (req: Request, conn: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/__demo/")) return control(url, req, info);
    const q = req.url.indexOf("?");
    const rawQuery = q === -1 ? null : req.url.slice(q + 1);
    const wtd = firstUrlParam(rawQuery, "wtd");
    let request = url.searchParams.get("request");
    // Wt's AJAX updates are POSTs with `request=jsupdate` in the form body.
    if (
      request === null && req.method === "POST" &&
      (req.headers.get("content-type") ?? "").includes("application/x-www-form-urlencoded")
    ) {
      request = new URLSearchParams(await req.text()).get("request");
    }
    const session = lookup(wtd);
    const name = request ?? "";
    const h = requestHandlers.get(name) ?? requestHandlers.get("resource")!;
    return await h({ req, url, wtd, session, request: name, server: info, info: conn });
  };

  // Requests are served by Deno.serve on a private port; the public one is the front, which
  // serves WebSocket upgrades on the raw socket as Wt does (front.ts).
  const inner = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  let front;
  try {
    front = startFront(opts.hostname ?? "127.0.0.1", port, inner.addr.port, (conn, head, rest) => {
      const q = head.target.indexOf("?");
      const wtd = firstUrlParam(q === -1 ? null : head.target.slice(q + 1), "wtd");
      servePushSocket(conn, head, rest, info, lookup(wtd)).catch(() => {});
    });
  } catch (err) {
    await inner.shutdown();
    throw err;
  }
  port = front.port;
  return {
    get port() {
      return port;
    },
    prefix,
    sessions,
    newSession: info.newSession,
    log: info.log,
    controls: info.controls,
    hostname: front.hostname,
    async stop() {
      await front.stop();
      await inner.shutdown();
    },
  };
}

function page(server: WtServerInfo, session: Session, askedFor: string | null): string {
  const id = escapeHtml(session.id);
  const q = `?wtd=${encodeURIComponent(session.id)}`;
  const notice = askedFor && askedFor !== session.id
    ? `<p class="warn">Asked for session <code>${
      escapeHtml(askedFor)
    }</code>, which this server does not know: started a new one (Wt does the same).</p>`
    : "";
  const controls = server.controls
    ? `<section id="controls"><h2>Demo servers</h2><div id="servers">…</div>
<p class="hint">Stop the server your session lives on and watch the proxy move you. Or drain it:
no new session goes there, yours keeps working, and once no session is left the server is free to
stop or restart (a deploy that loses no session).</p></section>`
    : "";
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(server.prefix)} · wtproxy demo</title>
<style>
body{font:16px system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}
.big{font-size:2.2em;margin:.2em 0}.srv{color:#fff;padding:0 .3em;border-radius:.2em}
.wt1{background:#1565c0}.wt2{background:#c62828}.srv:not(.wt1):not(.wt2){background:#555}
code{background:#f3f3f3;padding:0 .2em}.warn{color:#b26a00}.hint{color:#666}
#log{font:13px ui-monospace,monospace;background:#f7f7f7;padding:.5em;height:12em;overflow:auto}
button{margin:.2em .4em .2em 0}.draining .state{color:#1565c0}.drained .state{color:#2e7d32;font-weight:bold}
</style></head>
<body data-server="${escapeHtml(server.prefix)}" data-session="${id}">
<h1 class="big">Served by <span class="srv ${escapeHtml(server.prefix)}">${
    escapeHtml(server.prefix)
  }</span> (port ${server.port})</h1>
<p>Session <code id="session">${id}</code> · AJAX updates: <b id="updates">0</b>
 · last answered by <b id="last">${escapeHtml(server.prefix)}</b></p>
${notice}
<p><a href="${q}">Reload this session</a> · <a href="${q}&amp;request=resource&amp;resource=hello">a resource of this session</a>
 · <a href="/">a new session</a> (no <code>wtd</code>: balanced)</p>
${controls}
<h2>What happened</h2><div id="log"></div>
<script>window.WT_SESSION=${JSON.stringify(session.id)};</script>
<script src="${q}&amp;request=script"></script>
</body></html>
`;
}

/** The boot script: one AJAX update per second, as Wt's keep-alive/long-poll would. */
function bootScript(session: Session): string {
  const url = `?wtd=${encodeURIComponent(session.id)}`;
  return `(() => {
const logEl = document.getElementById("log");
function log(m) {
  const line = document.createElement("div");
  line.textContent = new Date().toLocaleTimeString() + "  " + m;
  logEl.prepend(line);
}
let reloading = false;
window.wtUpdate = (s) => {
  document.getElementById("updates").textContent = s.updates;
  const last = document.getElementById("last");
  if (last.textContent !== s.server) log("update answered by " + s.server);
  last.textContent = s.server;
};
window.wtReload = (s) => {
  if (reloading) return;
  reloading = true;
  log("session unknown at " + s.server + " (port " + s.port + "): Wt says reload");
  setTimeout(() => location.assign("/"), 1500);
};
async function tick() {
  if (reloading) return;
  try {
    const r = await fetch(${JSON.stringify(url)}, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "request=jsupdate&signal=keepAlive",
    });
    const text = await r.text();
    if (r.ok) new Function(text)();
    else log("proxy answered " + r.status + " " + r.statusText + " (server down, checks not yet failed?)");
  } catch (e) { log("request failed: " + e); }
}
const drainedSeen = new Set();
// One row per server, kept across updates (so a button is never replaced under the pointer).
const rows = new Map();
function row(box, name) {
  let r = rows.get(name);
  if (r) return r;
  const el = document.createElement("div");
  el.dataset.server = name;
  r = { el, run: document.createElement("button"), admin: document.createElement("button"),
    text: document.createElement("span"), state: null };
  r.text.className = "state";
  const act = (what) => {
    log(what + " " + name);
    fetch("/__demo/" + what + "?server=" + name, { method: "POST" }).catch(() => {});
  };
  r.run.onclick = () => act(r.state.running ? "stop" : "start");
  r.admin.onclick = () => act(r.state.admin === "DRAIN" ? "ready" : "drain");
  el.append(r.run, r.admin, r.text);
  box.append(el);
  rows.set(name, r);
  return r;
}
async function servers() {
  const box = document.getElementById("servers");
  if (!box) return;
  try {
    const res = await fetch("/__demo/status");
    const s = await res.json();
    if (rows.size === 0) box.textContent = "";
    for (const x of s.servers) {
      const r = row(box, x.name);
      r.state = x;
      r.run.textContent = (x.running ? "Stop " : "Start ") + x.name;
      r.admin.hidden = !x.admin;
      r.admin.textContent = (x.admin === "DRAIN" ? "Ready " : "Drain ") + x.name;
      let text = x.name + " on port " + x.port + ": " + (x.running ? "running" : "stopped");
      if (x.sessions != null) text += ", " + x.sessions + " live Wt session" + (x.sessions === 1 ? "" : "s");
      if (x.admin === "DRAIN") {
        text += x.drained
          ? " · drained: no Wt session left, free to stop or restart"
          : " · draining: no new session, live ones keep working";
      } else if (x.admin === "MAINT") text += " · maintenance";
      r.text.textContent = text;
      r.el.className = x.drained ? "drained" : x.admin === "DRAIN" ? "draining" : "";
      if (x.drained && !drainedSeen.has(x.name)) log(x.name + " is drained: free to stop or restart");
      if (x.drained) drainedSeen.add(x.name);
      else drainedSeen.delete(x.name);
    }
  } catch { if (rows.size === 0) box.textContent = "demo controls unreachable"; }
}
log("page served by " + document.body.dataset.server + ", session " + window.WT_SESSION);
setInterval(tick, 1000);
setInterval(servers, 1000);
tick();
servers();
})();
`;
}
