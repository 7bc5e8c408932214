// The demo server's WebSocket push channel, as Wt opens it: `GET /?wtd=<id>&request=ws` with an
// RFC 6455 upgrade. A known session gets a tick every second, the first one the moment the
// socket opens (Wt speaks first too); an unknown session gets 403 (Wt refuses it the same way).
// installPush() also appends a small client to the boot script so the page shows the ticks.

import type { RequestHandler } from "./wtserver.ts";

/** Milliseconds between ticks. */
export const TICK_MS = 1000;

export function installPush(handlers: Map<string, RequestHandler>): void {
  handlers.set("ws", ({ req, session, wtd, server }) => {
    if (!session) {
      server.log(`WebSocket for unknown session ${wtd ?? "(none)"}: 403`);
      return new Response("unknown session\n", { status: 403 });
    }
    if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return new Response("WebSocket upgrade expected\n", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    let tick = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const send = () => {
      if (socket.readyState !== WebSocket.OPEN) return;
      session.lastSeen = Date.now();
      socket.send(JSON.stringify({ tick: tick++, server: server.prefix, session: session.id }));
    };
    socket.onopen = () => {
      send();
      timer = setInterval(send, TICK_MS);
    };
    socket.onmessage = () => {
      session.lastSeen = Date.now(); // Wt's client pings arrive as messages
    };
    socket.onclose = () => clearInterval(timer);
    socket.onerror = () => {};
    return response;
  });

  // The page's boot script gets the push client appended.
  const script = handlers.get("script");
  if (!script) return;
  handlers.set("script", async (r) => {
    const res = await script(r);
    if (!r.session || !res.ok) return res;
    return new Response((await res.text()) + pushClient(r.session.id), {
      status: res.status,
      headers: res.headers,
    });
  });
}

function pushClient(sessionId: string): string {
  return `
(() => {
const p = document.createElement("p");
p.innerHTML = 'Push over WebSocket: <b id="push">connecting…</b>';
(document.getElementById("updates")?.closest("p") ?? document.body).after(p);
const out = document.getElementById("push");
function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    location.pathname + "?wtd=" + encodeURIComponent(${JSON.stringify(sessionId)}) + "&request=ws";
  const ws = new WebSocket(url);
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    out.textContent = "tick " + m.tick + " from " + m.server;
  };
  ws.onclose = (e) => {
    out.textContent = "closed (" + e.code + (e.reason ? " " + e.reason : "") + "), reconnecting…";
    setTimeout(connect, 2000);
  };
}
connect();
})();
`;
}
