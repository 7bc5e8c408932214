// Run by unix_test.ts under `deno run --unstable-net`: a unix datagram "syslog" (like
// /dev/log) in a temp dir receives what createLogging sends to a `kind: unix` target.
// Prints the received datagrams as a JSON array on stdout.

import { createLogging } from "../../src/log/logging.ts";
import { StateStore } from "../../src/state.ts";
import { ACCEPT, recipeConfig, record, udpTarget } from "./fixture.ts";

type Listen = (o: { transport: "unixpacket"; path: string }) => {
  receive(): Promise<[Uint8Array, unknown]>;
  close(): void;
};
const listen = (Deno as unknown as { listenDatagram: Listen }).listenDatagram;
const dir = Deno.makeTempDirSync({ prefix: "wtproxy-logtest-" });
const path = `${dir}/log.sock`;
const server = listen({ transport: "unixpacket", path });
const target = { ...udpTarget(514, "local0"), kind: "unix" as const, path, text: path };
const config = recipeConfig(514, { targets: [target] });
const store = new StateStore();
store.sync(config);
const log = createLogging(config, store, { pid: 42, now: () => ACCEPT });
log.access.request("wt", record());
log.event("alert", "Server bck1/srv1 is DOWN");
const dec = new TextDecoder();
const got: string[] = [];
const timer = setTimeout(() => server.close(), 3000);
try {
  while (got.length < 2) got.push(dec.decode((await server.receive())[0]));
} catch { /* closed by the timer */ }
clearTimeout(timer);
await log.stop();
try {
  server.close();
} catch { /* closed */ }
// No socket at the path (syslogd not running): dropped and counted, nothing thrown.
const missing = { ...target, path: `${dir}/missing.sock` };
const log2 = createLogging(recipeConfig(514, { targets: [missing] }), store, { pid: 42 });
log2.event("alert", "lost");
log2.event("alert", "lost");
await log2.stop();
Deno.removeSync(dir, { recursive: true });
console.log(JSON.stringify({ got, dropped: log.dropped(), missingDropped: log2.dropped() }));
