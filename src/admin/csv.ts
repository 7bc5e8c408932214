// `STATS_URI;csv`: the stats in HAProxy 2.6's CSV layout (the same header, column for column, as
// `haproxy` prints), so scripts and exporters that scrape HAProxy's CSV keep working. Columns
// wtproxy has no value for are left empty, as HAProxy leaves the ones that do not apply.
import type { CountersView, StatsView } from "./snapshot.ts";

export const CSV_HEADER =
  "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr," +
  "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle," +
  "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx," +
  "hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot," +
  "cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime," +
  "ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise," +
  "check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate," +
  "conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits," +
  "srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur," +
  "safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status," +
  "agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake," +
  "h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd," +
  "h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp," +
  "h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections," +
  "h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections," +
  "h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,";

const COLUMNS = CSV_HEADER.slice(2, -1).split(",");
const INDEX = new Map(COLUMNS.map((c, i) => [c, i]));

type Row = Record<string, string | number>;

function line(values: Row): string {
  const out = new Array<string>(COLUMNS.length).fill("");
  for (const [k, v] of Object.entries(values)) {
    const i = INDEX.get(k);
    if (i !== undefined) out[i] = String(v).replace(/[,\n]/g, " ");
  }
  return out.join(",") + ",";
}

/** The traffic columns a backend row and its server rows share. */
function traffic(c: CountersView): Row {
  return {
    qcur: 0,
    qmax: 0,
    scur: c.current,
    smax: c.max,
    stot: c.requests,
    bin: c.bytesIn,
    bout: c.bytesOut,
    econ: c.connectErrors,
    eresp: c.responseErrors,
    wretr: c.retries,
    wredis: c.redispatches,
    rate: c.rate,
    rate_max: c.maxRate,
  };
}

/** The CSV text for `view` (`iid`: 1-based proxy number, `sid`: server number). */
export function renderCsv(view: StatsView): string {
  const rows = [CSV_HEADER];
  const pid = view.info.pid;
  const now = view.time;
  const ids = new Map<string, number>();
  const iid = (name: string) => {
    if (!ids.has(name)) ids.set(name, ids.size + 1);
    return ids.get(name)!;
  };
  const resp = (r: Record<string, number>) => ({
    hrsp_1xx: r["1xx"],
    hrsp_2xx: r["2xx"],
    hrsp_3xx: r["3xx"],
    hrsp_4xx: r["4xx"],
    hrsp_5xx: r["5xx"],
    hrsp_other: r.other,
  });
  for (const f of view.frontends) {
    const c = f.counters;
    rows.push(line({
      pxname: f.name,
      svname: "FRONTEND",
      scur: c.current,
      smax: c.max,
      slim: f.maxconn,
      stot: c.requests,
      bin: c.bytesIn,
      bout: c.bytesOut,
      status: f.status,
      pid,
      iid: iid(f.name),
      sid: 0,
      type: 0,
      rate: c.rate,
      rate_max: c.maxRate,
      ...resp(c.responses),
      req_rate: c.rate,
      req_rate_max: c.maxRate,
      req_tot: c.requests,
      mode: "http",
      conn_tot: c.requests,
    }));
  }
  for (const b of view.backends) {
    const id = iid(b.name);
    b.servers.forEach((s, n) => {
      const c = s.counters;
      rows.push(line({
        pxname: b.name,
        svname: s.server,
        ...traffic(c),
        status: s.check || s.admin !== "READY" || s.tracks ? s.status : "no check",
        weight: s.weight,
        act: s.backup ? 0 : 1,
        bck: s.backup ? 1 : 0,
        lastchg: Math.max(0, Math.floor((now - s.lastChange) / 1000)),
        pid,
        iid: id,
        sid: n + 1,
        tracked: s.tracks ?? "",
        type: 2,
        check_status: s.lastCheck ? (s.lastCheck.ok ? "L7OK" : "L7STS") : "",
        check_duration: s.lastCheck ? s.lastCheck.durationMs : "",
        ...resp(c.responses),
        addr: s.address,
        mode: "http",
        uweight: s.configWeight,
      }));
    });
    const c = b.counters;
    rows.push(line({
      pxname: b.name,
      svname: "BACKEND",
      ...traffic(c),
      status: b.status,
      weight: b.weight,
      act: b.activeServers,
      bck: b.backupServers,
      pid,
      iid: id,
      sid: 0,
      type: 1,
      ...resp(c.responses),
      req_tot: c.requests,
      mode: "http",
      algo: b.balance,
    }));
  }
  return rows.join("\n") + "\n";
}
