// Connection fetches: the client's address and port, and the local address it connected to.
import { fetches } from "../types.ts";

fetches.set("src", { type: "ip", minArgs: 0, maxArgs: 0, compile: () => (req) => req.srcIp });
fetches.set("src_port", {
  type: "int",
  minArgs: 0,
  maxArgs: 0,
  compile: () => (req) => req.srcPort,
});
fetches.set("dst", { type: "ip", minArgs: 0, maxArgs: 0, compile: () => (req) => req.dstIp });
fetches.set("dst_port", {
  type: "int",
  minArgs: 0,
  maxArgs: 0,
  compile: () => (req) => req.dstPort,
});
