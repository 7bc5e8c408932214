// The Wt recipe's shape as a Config built by hand (tests/helpers/config.ts): frontend `proxied`,
// backends bck1 (srv1, checked), bck2 (srv2, checked) and bck_lb (srv1/srv2 tracking them);
// a runtime stand-in and a Prometheus text parser for the admin tests.

import type { AdminConfig, BackendConfig, Config, ServerConfig } from "../../src/config/model.ts";
import { StateStore } from "../../src/state.ts";
import type { AdminRuntime } from "../../src/admin/runtime.ts";
import { backend, bind, config, frontend, loc, server, settings } from "../helpers/config.ts";

export function adminConfig(
  host = "127.0.0.1",
  token: string | null = null,
  port = 0,
): AdminConfig {
  const wildcard = host === "0.0.0.0" || host === "*" || host === "::";
  return {
    bind: {
      host,
      port,
      wildcard,
      family: wildcard ? "any4" : host.includes(":") ? "ipv6" : "ipv4",
      text: `${host}:${port}`,
      loc,
    },
    token,
    loc,
  };
}

/** The recipe: wt1 sessions go to bck1 while nbsrv(bck1) > 0, wt2 to bck2, else bck_lb. */
export function recipeConfig(port1 = 1, port2 = 2, frontendPort = 0): Config {
  const s = settings({ options: { httpPretendKeepalive: false } });
  const be = (name: string, servers: ServerConfig[]) => backend(name, servers, { settings: s });
  return config(
    [frontend(
      [
        ["srv1_up", "nbsrv(bck1) gt 0"],
        ["srv2_up", "nbsrv(bck2) gt 0"],
        ["wt1", "url_sub wtd=wt1"],
        ["wt2", "url_sub wtd=wt2"],
      ],
      [["bck1", "if", "srv1_up wt1"], ["bck2", "if", "srv2_up wt2"]],
      "bck_lb",
      { name: "proxied", binds: [bind(frontendPort)], settings: s },
    )],
    [
      be("bck1", [server("srv1", port1, { check: true, prefix: "wt1" })]),
      be("bck2", [server("srv2", port2, { check: true, prefix: "wt2" })]),
      be("bck_lb", [
        server("srv1", port1, { track: { backend: "bck1", server: "srv1" } }),
        server("srv2", port2, { track: { backend: "bck2", server: "srv2" } }),
      ]),
    ],
  );
}

/** A runtime without listeners: the admin room only needs config + state (+ flags). */
export function fakeRuntime(config = recipeConfig()): AdminRuntime & {
  ready: boolean;
  stopping: boolean;
  dropped: number;
} {
  const state = new StateStore();
  state.sync(config);
  const rt = {
    config,
    state,
    listeners: [{ frontend: "proxied", hostname: "127.0.0.1", port: 0 }],
    ready: true,
    stopping: false,
    dropped: 0,
    logging: { dropped: () => rt.dropped },
  };
  return rt;
}

export function bck(config: Config, name: string): BackendConfig {
  const b = config.backends.find((x) => x.name === name);
  if (!b) throw new Error(`no backend ${name}`);
  return b;
}

/** Minimal Prometheus text-format parser (0.0.4): families with HELP/TYPE and samples. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  help: string | null;
  type: string | null;
  samples: Sample[];
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const fam = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { name, help: null, type: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const lines = text.split("\n");
  if (lines[lines.length - 1] !== "") throw new Error("exposition must end with a line feed");
  lines.pop();
  let lineNo = 0;
  for (const line of lines) {
    lineNo++;
    const fail = (why: string) => {
      throw new Error(`line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // plain comment
      if (!NAME.test(m[2])) fail("bad metric name");
      const f = fam(m[2]);
      if (m[1] === "HELP") {
        if (f.help !== null) fail("second HELP");
        if (/\\[^\\n]/.test(m[3].replace(/\\\\/g, ""))) fail("bad escape in HELP");
        f.help = m[3].replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\"));
      } else {
        if (f.type !== null) fail("second TYPE");
        if (f.samples.length) fail("TYPE after samples");
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3])) {
          fail("bad type");
        }
        f.type = m[3];
      }
      continue;
    }
    // sample: name{labels} value
    let i = 0;
    while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i])) i++;
    const name = line.slice(0, i);
    if (!NAME.test(name)) fail("bad sample name");
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      while (line[i] !== "}") {
        const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
        if (!m) fail("bad label");
        i += m![0].length;
        let v = "";
        while (line[i] !== '"') {
          if (i >= line.length) fail("unterminated label value");
          if (line[i] === "\\") {
            const c = line[i + 1];
            if (c === "\\") v += "\\";
            else if (c === '"') v += '"';
            else if (c === "n") v += "\n";
            else fail("bad escape in label value");
            i += 2;
          } else v += line[i++];
        }
        i++;
        if (m![1] in labels) fail("duplicate label");
        labels[m![1]] = v;
        if (line[i] === ",") i++;
        else if (line[i] !== "}") fail("expected , or }");
      }
      i++;
    }
    if (line[i] !== " ") fail("expected space before value");
    const rest = line.slice(i + 1).split(" ");
    if (rest.length > 2) fail("trailing garbage");
    const raw = rest[0];
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    if (raw === "" || (Number.isNaN(value) && raw !== "NaN")) fail("bad value");
    // histogram samples belong to the base family
    let base = name;
    for (const suf of ["_bucket", "_sum", "_count"]) {
      if (name.endsWith(suf) && families.get(name.slice(0, -suf.length))?.type === "histogram") {
        base = name.slice(0, -suf.length);
      }
    }
    const f = families.get(base);
    if (!f || f.type === null) fail(`sample before its TYPE line (${base})`);
    f!.samples.push({ name, labels, value });
  }
  // every family contiguous and typed; histograms well formed
  for (const f of families.values()) {
    if (f.type === "histogram") checkHistogram(f);
  }
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const k = JSON.stringify(rest);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(s);
  }
  for (const [k, ss] of groups) {
    const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
    const count = ss.find((s) => s.name === `${f.name}_count`);
    if (!count || !ss.some((s) => s.name === `${f.name}_sum`)) {
      throw new Error(`${f.name}${k}: missing _sum/_count`);
    }
    let prevLe = -Infinity;
    let prev = 0;
    for (const b of buckets) {
      const le = b.labels.le === "+Inf" ? Infinity : Number(b.labels.le);
      if (!(le > prevLe)) throw new Error(`${f.name}${k}: le not increasing`);
      if (b.value < prev) throw new Error(`${f.name}${k}: buckets not cumulative`);
      prevLe = le;
      prev = b.value;
    }
    if (prevLe !== Infinity) throw new Error(`${f.name}${k}: no +Inf bucket`);
    if (prev !== count.value) throw new Error(`${f.name}${k}: +Inf bucket != _count`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function metric(
  fams: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  for (const f of fams.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
}
