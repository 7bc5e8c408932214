// The recipe as the user writes it: config.example.yaml and the Wt wiki's HAProxy file, loaded
// by the config room and routed by ours; same result as the hand-built configuration.
import { equal } from "node:assert/strict";
import { loadConfig, loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/model.ts";
import { req } from "../balance/fixture.ts";
import { pipeline } from "../balance/pipeline.ts";

// /work/shared/seed/affinity.cfg, verbatim (the ports of the servers are what matter here).
const AFFINITY_CFG = `global
    log 127.0.0.1 local0 
    log 127.0.0.1 local1 notice
    maxconn 4096
    user haproxy
    group haproxy
    daemon

defaults
    log    global
    mode    http
    option    httplog
    option    dontlognull
        option  http-server-close
        option  http-pretend-keepalive
        option  forwardfor
        option  originalto
    retries    3
    option redispatch
    maxconn    2000
    contimeout    5000
    clitimeout    50000
    srvtimeout    50000

frontend wt
        bind 0.0.0.0:80
        acl srv1 url_sub wtd=wt1
        acl srv2 url_sub wtd=wt2
        acl srv1_up nbsrv(bck1) gt 0
        acl srv2_up nbsrv(bck2) gt 0
        use_backend bck1 if srv1_up srv1
        use_backend bck2 if srv2_up srv2
        default_backend bck_lb

backend bck_lb
        balance roundrobin
        server srv1 0.0.0.0:9090 track bck1/srv1
        server srv2 0.0.0.0:9091 track bck2/srv2

backend bck1
        balance roundrobin
        server srv1 0.0.0.0:9090 check

backend bck2
        balance roundrobin
        server srv2 0.0.0.0:9091 check
`;

function exercise(config: Config): void {
  const p = pipeline(config);
  const lb: string[] = [];
  for (let i = 0; i < 1100; i++) {
    const k = i % 3;
    const target = k === 0 ? `/?wtd=wt1abc${i}` : k === 1 ? `/?wtd=wt2abc${i}` : "/";
    const r = p.pick(req(target))!;
    if (k === 0) equal(`${r.backend}/${r.server}`, "bck1/srv1", target);
    else if (k === 1) equal(`${r.backend}/${r.server}`, "bck2/srv2", target);
    else lb.push(r.server);
  }
  lb.forEach((s, i) => equal(s, i % 2 === 0 ? "srv1" : "srv2"));
  p.setHealth("bck2/srv2", "DOWN");
  equal(p.pick(req("/?wtd=wt2abc"))!.address.endsWith(":9090"), true);
}

Deno.test("config.example.yaml routes like the recipe", async () => {
  const { config } = await loadConfig(
    new URL("../../config.example.yaml", import.meta.url).pathname,
  );
  exercise(config);
});

Deno.test("the Wt wiki's HAProxy file routes like the recipe", async () => {
  const { config } = await loadConfigText(AFFINITY_CFG, "affinity.cfg", "cfg");
  exercise(config);
});
