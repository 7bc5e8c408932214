// The balance room's interface: one policy per file, registered in `selectors`.
import type { BackendConfig, ServerConfig } from "../config/model.ts";
import type { ServerState } from "../state.ts";
import type { RequestInfo } from "../proxy/request.ts";

/** A configured server together with its runtime state. */
export interface ServerRef {
  config: ServerConfig;
  state: ServerState;
}

export interface Selector {
  /** Picks one of `servers` (all usable, never empty) for this request, or undefined if none fits. */
  pick(servers: readonly ServerRef[], req: RequestInfo): ServerRef | undefined;
}

export type SelectorFactory = (backend: BackendConfig) => Selector;

/** "roundrobin" -> factory. Each policy file registers itself here. */
export const selectors = new Map<string, SelectorFactory>();
