// The live stats page: one self-contained HTML document (inline CSS, JS and SVG, no external
// assets). It loads /stats.json, then follows /stats/events (SSE); when the event stream
// fails it falls back to polling /stats.json every two seconds.

export const STATS_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wtproxy statistics</title>
<style>
  body { font-family: Arial, Helvetica, sans-serif; font-size: 12px; margin: 8px; color: #000; background: #fff; }
  h1 { font-size: 18px; margin: 0 0 6px 0; background: #20377d; color: #fff; padding: 6px 8px; }
  h1 small { font-weight: normal; font-size: 12px; margin-left: 12px; }
  #info { display: flex; gap: 24px; flex-wrap: wrap; margin-bottom: 8px; align-items: flex-start; }
  #info table td { padding: 1px 6px; }
  .legend td { padding: 2px 6px; }
  #live { display: inline-block; width: 9px; height: 9px; border-radius: 50%; background: #999; margin-right: 4px; }
  #live.on { background: #0b0; }
  #live.poll { background: #fa0; }
  table.px { border-collapse: collapse; margin: 0 0 14px 0; min-width: 900px; }
  table.px th, table.px td { border: 1px solid #999; padding: 2px 5px; text-align: right; white-space: nowrap; }
  table.px th { background: #b0b0e0; font-weight: normal; }
  table.px tr.title th { background: #20377d; color: #fff; text-align: left; font-weight: bold; font-size: 13px; }
  table.px td.name { text-align: left; }
  table.px tr.total td { background: #dde; font-weight: bold; }
  .st { text-align: center !important; font-weight: bold; }
  .up, table.px tr td.up { background: #c0ffc0; }
  .going-down, table.px tr td.going-down { background: #ffffa0; }
  .going-up, table.px tr td.going-up { background: #ffd020; }
  .down, table.px tr td.down { background: #ff9090; }
  .drain, table.px tr td.drain { background: #a0d8ff; }
  .maint, table.px tr td.maint { background: #c07820; color: #fff; }
  table.px tr td.open { background: #c0ffc0; }
  table.px tr td.stop { background: #ff9090; }
  td.chart { padding: 0 !important; }
  svg.spark { display: block; }
  .muted { color: #777; }
  .err { color: #c00; }
</style>
</head>
<body>
<h1>wtproxy statistics <small id="version"></small></h1>
<div id="info">
  <table>
    <tr><td><span id="live"></span><span id="livetext">connecting</span></td></tr>
    <tr><td>pid <b id="pid">-</b>, uptime <b id="uptime">-</b></td></tr>
    <tr><td>current connections <b id="conns">-</b></td></tr>
    <tr><td>threads <b id="threads">-</b> <span id="perworker" class="muted"></span></td></tr>
    <tr><td>dropped log lines <b id="dropped">-</b></td></tr>
    <tr><td>config <b id="cfgfile">-</b></td></tr>
  </table>
  <table class="legend">
    <tr><td class="up">UP</td><td class="going-down">UP, going down</td><td class="going-up">DOWN, going up</td></tr>
    <tr><td class="down">DOWN</td><td class="drain">DRAIN, NOLB</td><td class="maint">MAINT</td></tr>
  </table>
</div>
<div id="proxies"><p class="muted">loading…</p></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
function dur(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), h = Math.floor(sec / 3600) % 24, m = Math.floor(sec / 60) % 60, s = sec % 60;
  return d + "d" + h + "h" + m + "m" + s + "s";
}
function bytes(n) {
  if (n < 1024) return String(n);
  const u = ["K", "M", "G", "T"]; let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return n.toFixed(1) + u[i];
}
function num(n) { return n == null ? "-" : String(Math.round(n * 10) / 10); }
function spark(hist) {
  const W = 150, H = 30;
  if (!hist || hist.length < 2) return '<svg class="spark" width="' + W + '" height="' + H + '"><text x="4" y="19" font-size="10" fill="#999">collecting…</text></svg>';
  const maxR = Math.max(1, ...hist.map((p) => p.rate));
  const times = hist.map((p) => p.avgMs).filter((v) => v != null);
  const maxT = Math.max(1, ...times);
  const step = W / (hist.length - 1);
  const pt = (i, v, max) => (i * step).toFixed(1) + "," + (H - 2 - (v / max) * (H - 6)).toFixed(1);
  const area = "0," + H + " " + hist.map((p, i) => pt(i, p.rate, maxR)).join(" ") + " " + W + "," + H;
  const tline = hist.map((p, i) => p.avgMs == null ? null : pt(i, p.avgMs, maxT)).filter(Boolean).join(" ");
  const last = hist[hist.length - 1];
  const title = "request rate (max " + num(maxR) + "/s) and mean response time (max " + num(maxT) + " ms), last " + hist.length + " s";
  return '<svg class="spark" width="' + W + '" height="' + H + '" role="img" aria-label="' + esc(title) + '"><title>' + esc(title) + '</title>' +
    '<polygon points="' + area + '" fill="#9bd" stroke="#36a" stroke-width="1"/>' +
    (tline ? '<polyline points="' + tline + '" fill="none" stroke="#d60" stroke-width="1.2" stroke-dasharray="3,2"/>' : "") +
    '<text x="3" y="10" font-size="9" fill="#123">' + num(last.rate) + '/s</text></svg>';
}
// Live Wt sessions, and those lost (DOWN, MAINT, moved by DNS) when there were some.
function wtCell(x) {
  if (x.sessions == null) return "-";
  return x.sessions + (x.sessionsLost ? ' <span class="muted">(' + x.sessionsLost + ' lost)</span>' : "");
}
const HEAD = '<tr><th rowspan="2">Name</th><th rowspan="2">Status</th><th rowspan="2">Wght</th>' +
  '<th rowspan="2" title="live Wt sessions (lost: ended by DOWN, MAINT or a DNS move)">Wt sessions</th>' +
  '<th colspan="2">Sessions</th><th colspan="2">Req rate</th><th rowspan="2">Requests</th>' +
  '<th colspan="5">Responses</th><th colspan="2">Errors</th><th colspan="2">Warnings</th>' +
  '<th colspan="2">Bytes</th><th rowspan="2">WS open</th><th rowspan="2">Avg time</th>' +
  '<th rowspan="2">Last chk</th><th rowspan="2">Last chg</th><th rowspan="2">Req/s, time (60 s)</th></tr>' +
  '<tr><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th>' +
  '<th>1xx</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>Conn</th><th>Resp</th>' +
  '<th>Retr</th><th>Redis</th><th>In</th><th>Out</th></tr>';
function cells(c) {
  const r = c.responses;
  return '<td>' + c.current + '</td><td>' + c.max + '</td>' +
    '<td>' + num(c.rate) + '</td><td>' + num(c.maxRate) + '</td><td>' + c.requests + '</td>' +
    '<td>' + r["1xx"] + '</td><td>' + r["2xx"] + '</td><td>' + r["3xx"] + '</td><td>' + r["4xx"] + '</td><td>' + r["5xx"] + '</td>' +
    '<td' + (c.connectErrors ? ' class="err"' : '') + '>' + c.connectErrors + '</td>' +
    '<td' + (c.responseErrors ? ' class="err"' : '') + '>' + c.responseErrors + '</td>' +
    '<td>' + c.retries + '</td><td>' + c.redispatches + '</td>' +
    '<td>' + bytes(c.bytesIn) + '</td><td>' + bytes(c.bytesOut) + '</td><td>' + c.wsOpen + '</td>' +
    '<td>' + (c.avgTimeMs == null ? "-" : num(c.avgTimeMs) + " ms") + '</td>';
}
function lastCheck(s, now) {
  if (s.tracks) return '<span class="muted">via ' + esc(s.tracks) + '</span>';
  if (!s.check) return '<span class="muted">no check</span>';
  const c = s.lastCheck;
  if (!c) return '<span class="muted">pending</span>';
  const short = String(c.info || "").split(",")[0];
  return '<span class="' + (c.ok ? "" : "err") + '" title="' + esc(c.info) + '">' + (c.ok ? "OK" : "FAIL") +
    (short ? " (" + esc(short) + ")" : "") + ' in ' + num(c.durationMs) + ' ms, ' + dur((now - c.time) / 1000) + ' ago</span>';
}
function render(d) {
  const i = d.info;
  $("version").textContent = "version " + i.version;
  $("pid").textContent = i.pid;
  $("uptime").textContent = dur(i.uptimeSeconds);
  $("conns").textContent = i.currentConnections;
  $("threads").textContent = i.nbthread;
  $("perworker").textContent = i.requestsPerWorker.length
    ? "requests per worker: " + i.requestsPerWorker.map(num).join(" / ") : "";
  $("dropped").textContent = i.droppedLogLines == null ? "n/a" : i.droppedLogLines;
  $("cfgfile").textContent = i.configFile + (i.stopping ? " (stopping)" : "");
  let h = "";
  for (const f of d.frontends) {
    h += '<table class="px" data-frontend="' + esc(f.name) + '"><tr class="title"><th colspan="25">frontend ' + esc(f.name) +
      ' <small>' + esc(f.binds.join(", ")) + ', maxconn ' + f.maxconn + '</small></th></tr>' + HEAD;
    h += '<tr class="total"><td class="name">FRONTEND</td><td class="st ' + (f.status === "OPEN" ? "open" : "stop") + '">' + f.status +
      '</td><td>-</td><td>-</td>' + cells(f.counters) + '<td>-</td><td>-</td><td class="chart">' + spark(f.history) + '</td></tr></table>';
  }
  for (const b of d.backends) {
    h += '<table class="px" data-backend="' + esc(b.name) + '"><tr class="title"><th colspan="25">backend ' + esc(b.name) +
      ' <small>balance ' + esc(b.balance) + ', nbsrv ' + b.nbsrv + '</small></th></tr>' + HEAD;
    for (const s of b.servers) {
      h += '<tr data-key="' + esc(s.key) + '"><td class="name" title="' + esc(s.address) + '">' + esc(s.server) +
        (s.backup ? ' <span class="muted">(backup)</span>' : '') + '</td><td class="st ' + esc(s.statusClass) + '">' + esc(s.status) +
        (s.drained ? ' <span class="muted">(drained)</span>' : '') +
        '</td><td>' + s.weight + '</td><td class="wt">' + wtCell(s) + '</td>' + cells(s.counters) + '<td>' + lastCheck(s, d.time) + '</td><td>' +
        dur((d.time - s.lastChange) / 1000) + '</td><td class="chart">' + spark(s.history) + '</td></tr>';
    }
    h += '<tr class="total"><td class="name">BACKEND</td><td class="st ' + (b.status === "UP" ? "up" : "down") + '">' + b.status +
      '</td><td>' + b.weight + '</td><td class="wt">' + wtCell(b) + '</td>' + cells(b.counters) + '<td>-</td><td>-</td><td class="chart">' + spark(b.history) + '</td></tr></table>';
  }
  $("proxies").innerHTML = h;
}
function setLive(mode) {
  $("live").className = mode;
  $("livetext").textContent = mode === "on" ? "live (events)" : mode === "poll" ? "live (polling)" : "disconnected";
}
let pollTimer = null;
async function poll() {
  try {
    const r = await fetch("stats.json?history=1", { cache: "no-store" });
    if (!r.ok) throw new Error(String(r.status));
    render(await r.json());
    setLive("poll");
  } catch { setLive(""); }
}
function startPolling() {
  if (pollTimer) return;
  poll();
  pollTimer = setInterval(poll, 2000);
}
function startEvents() {
  if (!window.EventSource) return startPolling();
  let failures = 0;
  const es = new EventSource("stats/events");
  es.addEventListener("stats", (ev) => { failures = 0; setLive("on"); render(JSON.parse(ev.data)); });
  es.onerror = () => {
    setLive("");
    if (++failures >= 3) { es.close(); startPolling(); }
  };
}
poll().then(startEvents);
</script>
</body>
</html>
`;
