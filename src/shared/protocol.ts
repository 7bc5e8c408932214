// The messages between the control plane (main thread) and a data-plane worker.

import type { Config } from "../config/model.ts";
import type { ListenerInfo } from "../data/plane.ts";
import type { PoolOptions } from "../upstream/pool.ts";
import type { TableInit } from "./table.ts";

export type ToWorker =
  | {
    t: "start";
    /** 1..nbthread: the worker's counter block in the table. */
    index: number;
    config: Config;
    table: TableInit;
    ports: [string, number][];
    pool?: PoolOptions;
    /** Addresses DNS discovery found so far ([backend/server, DiscoveredAddress]). */
    addresses: [string, unknown][];
  }
  /** Open and compile `config` (nothing served yet); answered by "prepared" or "failed". */
  | { t: "prepare"; id: number; config: Config; table: TableInit; ports: [string, number][] }
  | { t: "commit"; id: number }
  | { t: "abort"; id: number }
  | { t: "push"; kind: string; data: unknown }
  | { t: "stop"; graceMs: number }
  /** Tests: throw from the worker's event loop (a fault the control plane must survive). */
  | { t: "fault" };

export type FromWorker =
  | { t: "ready"; listeners: ListenerInfo[] }
  | { t: "start-failed"; error: string }
  | { t: "prepared"; id: number; listeners: ListenerInfo[] }
  | { t: "failed"; id: number; error: string }
  | { t: "committed"; id: number }
  | { t: "events"; batch: [string, unknown][] }
  | { t: "stopped" };
