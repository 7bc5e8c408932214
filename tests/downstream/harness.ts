// The client-side server on its own for tests: a handler instead of the proxy, the bad
// requests it reports collected, and a close() that waits for its connections to go.

import {
  type BadRequest,
  type ConnInfo,
  type ConnSettings,
  type HttpServer,
  startServer,
} from "../../src/downstream/server.ts";
import type { ClientExchange } from "../../src/downstream/types.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Harness {
  server: HttpServer;
  port: number;
  bad: BadRequest[];
  close(): Promise<void>;
}

export function serve(
  handler: (ex: ClientExchange, conn: ConnInfo) => Promise<void>,
  settings: Partial<ConnSettings> = {},
): Harness {
  const bad: BadRequest[] = [];
  const s: ConnSettings = {
    clientTimeout: null,
    httpRequestTimeout: null,
    keepAliveTimeout: null,
    ...settings,
  };
  const server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    settings: () => s,
    handler,
    onBadRequest: (b) => bad.push(b),
  });
  return {
    server,
    port: server.addr.port,
    bad,
    close: async () => {
      server.kill();
      for (let i = 0; i < 100 && server.connections > 0; i++) await sleep(10);
      await sleep(20);
    },
  };
}
