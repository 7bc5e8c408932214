// Hand-built Configs for the log tests (no parser needed) and a UDP syslog catcher on
// 127.0.0.1 (ephemeral port) that records every datagram it receives, byte for byte.

import dgram from "node:dgram";
import type {
  BackendConfig,
  Config,
  Facility,
  FrontendConfig,
  Level,
  Loc,
  LogTarget,
  ProxySettings,
} from "../../src/config/model.ts";
import type { RequestLog } from "../../src/log/record.ts";
import {
  backend as sharedBackend,
  config,
  frontend as sharedFrontend,
  settings as recipeSettings,
  udpTarget as sharedUdpTarget,
} from "../helpers/config.ts";

export const loc: Loc = { file: "wt.cfg", line: 3, col: 3 };

/** A UDP syslog target written at `loc` (wt.cfg:3:3). */
export function udpTarget(
  port: number,
  facility: Facility,
  level: Level = "debug",
  extra: Partial<LogTarget> = {},
): LogTarget {
  return sharedUdpTarget(port, facility, level, { loc, ...extra });
}

/** The recipe's settings with these log targets and logging options. */
export function settings(log: LogTarget[], httplog = true, dontlognull = false): ProxySettings {
  return recipeSettings({ log, options: { httplog, dontlognull } });
}

export function frontend(name: string, s: ProxySettings): FrontendConfig {
  return sharedFrontend([], [], null, { name, settings: s, loc });
}

export function backend(name: string, s: ProxySettings): BackendConfig {
  return sharedBackend(name, [], { settings: s, loc });
}

/**
 * The recipe's logging: `global` with `log 127.0.0.1 local0` and `log 127.0.0.1 local1
 * notice` (both on `port`), `defaults` with `log global`, `option httplog`, `option
 * dontlognull` as asked; frontend `wt`, backends bck1, bck_lb.
 */
export function recipeConfig(
  port: number,
  opts: { httplog?: boolean; dontlognull?: boolean; tag?: string; targets?: LogTarget[] } = {},
): Config {
  const targets = opts.targets ??
    [udpTarget(port, "local0"), udpTarget(port, "local1", "notice")];
  const s = settings(targets, opts.httplog ?? true, opts.dontlognull ?? false);
  return config([frontend("wt", s)], [backend("bck1", s), backend("bck_lb", s)], {
    file: "wt.cfg",
    format: "cfg",
    global: { maxconn: 4096, log: targets, logTag: opts.tag ?? "wtproxy" },
  });
}

/** 23/Nov/2026:20:02:06.018 local time: the first datagram of haproxy-semantics §3.1. */
export const ACCEPT = new Date(2026, 10, 23, 20, 2, 6, 18).getTime();

export function record(extra: Partial<RequestLog> = {}): RequestLog {
  return {
    clientIp: "127.0.0.1",
    clientPort: 59274,
    acceptDate: ACCEPT,
    frontend: "wt",
    backend: "bck1",
    server: "srv1",
    tr: 0,
    tw: 0,
    tc: 2,
    tres: 7,
    ta: 9,
    status: 200,
    bytesRead: 276,
    termination: "----",
    actconn: 1,
    feconn: 1,
    beconn: 0,
    srvConn: 0,
    retries: 0,
    redispatched: false,
    srvQueue: 0,
    backendQueue: 0,
    requestLine: "GET /?wtd=wt1abc HTTP/1.1",
    ...extra,
  };
}

export interface Catcher {
  port: number;
  /** Every datagram received so far, decoded as latin1-free UTF-8 text. */
  lines: string[];
  /** Waits until at least n datagrams arrived (or throws after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<string[]>;
  /** Waits quietMs and returns what arrived (to check that nothing more came). */
  settle(quietMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function udpCatcher(): Promise<Catcher> {
  const sock = dgram.createSocket("udp4");
  const lines: string[] = [];
  const dec = new TextDecoder();
  let wake: (() => void) | null = null;
  sock.on("message", (msg: Uint8Array) => {
    lines.push(dec.decode(msg));
    wake?.();
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
  const port = sock.address().port;
  return {
    port,
    lines,
    async waitFor(n, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`expected ${n} datagrams, got ${lines.length}: ${lines.join("")}`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 50));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
      return lines.slice();
    },
    async settle(quietMs = 150) {
      await new Promise((r) => setTimeout(r, quietMs));
      return lines.slice();
    },
    close() {
      return new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}

/** Port of a UDP socket just closed: nobody listens there. */
export async function closedUdpPort(): Promise<number> {
  const c = await udpCatcher();
  const port = c.port;
  await c.close();
  return port;
}
