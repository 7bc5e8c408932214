// The stats page a proxy's `stats` lines serve on its own listeners: one server-rendered HTML
// document (no script, so `stats refresh` and plain browsers work), HAProxy's layout in short:
// a header with the process info, then per frontend and backend a table of sessions, bytes,
// responses and server states; with `stats admin` a form per backend to set servers
// READY/DRAIN/MAINT (the runtime API's state changes).
import type { BackendView, StatsView } from "./snapshot.ts";

export interface PageOptions {
  /** Where the page is (forms post there). */
  uri: string;
  admin: boolean;
  hideVersion: boolean;
  showLegends: boolean;
  node: string | null;
  desc: string | null;
  /** A message after an admin action (HAProxy's `;st=DONE`...). */
  notice: string | null;
}

const esc = (s: string | number): string =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function duration(sec: number): string {
  const d = Math.floor(sec / 86400), h = Math.floor(sec / 3600) % 24;
  const m = Math.floor(sec / 60) % 60, s = Math.floor(sec % 60);
  return `${d}d ${h}h${String(m).padStart(2, "0")}m${String(s).padStart(2, "0")}s`;
}

const HEAD = "<tr><th>Name</th><th>Status</th><th>Cur</th><th>Max</th><th>Total</th>" +
  "<th>Bytes in</th><th>Bytes out</th><th>1xx</th><th>2xx</th><th>3xx</th><th>4xx</th>" +
  "<th>5xx</th><th>Conn err</th><th>Resp err</th><th>Retr</th><th>Redis</th><th>Wght</th>" +
  "<th>Chk</th><th>Bck</th><th>Last check</th></tr>";

function row(
  name: string,
  status: string,
  cls: string,
  c: StatsView["frontends"][number]["counters"],
  extra: { weight?: number; check?: boolean; backup?: boolean; last?: string; box?: string },
): string {
  const r = c.responses;
  return `<tr><td class="name">${extra.box ?? ""}${esc(name)}</td><td class="st ${cls}">${
    esc(status)
  }</td><td>${c.current}</td><td>${c.max}</td><td>${c.requests}</td><td>${c.bytesIn}</td><td>${c.bytesOut}</td><td>${
    r["1xx"]
  }</td><td>${r["2xx"]}</td><td>${r["3xx"]}</td><td>${r["4xx"]}</td><td>${
    r["5xx"]
  }</td><td>${c.connectErrors}</td><td>${c.responseErrors}</td><td>${c.retries}</td><td>${c.redispatches}</td><td>${
    extra.weight ?? ""
  }</td><td>${extra.check === undefined ? "" : extra.check ? "Y" : "-"}</td><td>${
    extra.backup === undefined ? "" : extra.backup ? "Y" : "-"
  }</td><td>${esc(extra.last ?? "")}</td></tr>`;
}

function backendTable(b: BackendView, o: PageOptions): string {
  const rows = b.servers.map((s) =>
    row(s.server, s.status, s.statusClass, s.counters, {
      weight: s.weight,
      check: s.check,
      backup: s.backup,
      last: s.lastCheck ? `${s.lastCheck.ok ? "L7OK" : "FAIL"} ${s.lastCheck.info}` : "",
      box: o.admin ? `<input type="checkbox" name="s" value="${esc(s.server)}"> ` : "",
    })
  ).join("");
  const total = row("Backend", b.status, b.status === "UP" ? "up" : "down", b.counters, {
    weight: b.weight,
  });
  const table = `<table class="px"><tr class="title"><th colspan="20">${
    esc(b.name)
  }</th></tr>${HEAD}${rows}${total}</table>`;
  if (!o.admin || b.servers.length === 0) return table;
  return `<form method="post" action="${esc(o.uri)}">${table}<p>Choose the action to perform ` +
    `on the checked servers: <select name="action"><option value="ready">Set state to READY` +
    `</option><option value="drain">Set state to DRAIN</option><option value="maint">Set ` +
    `state to MAINT</option></select><input type="hidden" name="b" value="${
      esc(b.name)
    }"> <input type="submit" value="Apply"></p></form>`;
}

/** The whole page for `view`. */
export function renderStatsPage(view: StatsView, o: PageOptions): string {
  const i = view.info;
  const title = `Statistics Report for pid ${i.pid}${o.node ? ` on ${esc(o.node)}` : ""}`;
  const version = o.hideVersion ? "" : ` <small>wtproxy version ${esc(i.version)}</small>`;
  const legends = o.showLegends
    ? `<table class="legend"><tr><td class="up">active UP</td><td class="going-down">` +
      `UP, going down</td><td class="going-up">DOWN, going up</td></tr><tr><td class="down">` +
      `active or backup DOWN</td><td class="drain">DRAIN</td><td class="maint">MAINT</td>` +
      `</tr></table>`
    : "";
  const fronts = view.frontends.map((f) =>
    `<table class="px"><tr class="title"><th colspan="20">${esc(f.name)}</th></tr>${HEAD}${
      row("Frontend", f.status, f.status === "OPEN" ? "up" : "down", f.counters, {})
    }</table>`
  ).join("");
  const backs = view.backends.map((b) => backendTable(b, o)).join("");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>
body { font-family: Arial, Helvetica, sans-serif; font-size: 12px; margin: 8px; }
h1 { font-size: 18px; background: #20377d; color: #fff; padding: 6px 8px; margin: 0 0 6px 0; }
table.px { border-collapse: collapse; margin: 0 0 14px 0; }
table.px th, table.px td { border: 1px solid #999; padding: 2px 5px; text-align: right; }
table.px th { background: #b0b0e0; font-weight: normal; }
table.px tr.title th { background: #20377d; color: #fff; text-align: left; font-weight: bold; }
td.name { text-align: left !important; } .st { text-align: center !important; font-weight: bold; }
.up { background: #c0ffc0; } .going-down { background: #ffffa0; } .going-up { background: #ffd020; }
.down { background: #ff9090; } .drain { background: #a0d8ff; } .maint { background: #c07820; color: #fff; }
.notice { background: #c0ffc0; padding: 4px 8px; }
</style></head><body>
<h1>${title}${version}</h1>
${o.notice ? `<p class="notice">${esc(o.notice)}</p>` : ""}
<p>pid = ${i.pid} (process #1, nbproc = 1); uptime = ${
    duration(i.uptimeSeconds)
  }; current conns = ${i.currentConnections}${o.desc ? `<br>${esc(o.desc)}` : ""}</p>
${legends}
${fronts}
${backs}
</body></html>
`;
}
