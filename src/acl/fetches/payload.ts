// Fetches of the bytes a TCP frontend has buffered while `tcp-request inspect-delay` runs:
// `req.len`, `req.payload(OFFSET,LENGTH)`, `req.ssl_hello_type`, `req.ssl_sni` (and their 1.x
// names `req_len`, `req_ssl_hello_type`, `req_ssl_sni`). `req.payload` is binary: its bytes are
// matched as a latin1 string (`-m str "SET"`, `-m beg`), or as hex with `-m bin`. An HTTP request has no payload: no sample. A sample
// that more bytes could still change sets `payload.miss`, so the inspection waits for them
// (HAProxy's SMP_F_MAY_CHANGE) until the delay ends.
import { type HelloResult, helloSni, helloType } from "../../tcp/hello.ts";
import type { RequestInfo, TcpPayload } from "../../proxy/request.ts";
import { AclError, fetches } from "../types.ts";

function sample<T>(p: TcpPayload, r: HelloResult<T>): T | null {
  if (r.kind === "value") return r.value;
  if (r.kind === "short" && !p.final) p.miss = true;
  return null;
}

function reqLen(req: RequestInfo): number | null {
  const p = req.payload;
  if (!p) return null;
  if (!p.final) p.miss = true;
  return p.bytes.length;
}

function reqHelloType(req: RequestInfo): number | null {
  const p = req.payload;
  return p ? sample(p, helloType(p.bytes)) : null;
}

function reqSni(req: RequestInfo): string | null {
  const p = req.payload;
  return p ? sample(p, helloSni(p.bytes)) : null;
}

for (const name of ["req.len", "req_len"]) {
  fetches.set(name, { type: "int", minArgs: 0, maxArgs: 0, compile: () => reqLen });
}
for (const name of ["req.ssl_hello_type", "req_ssl_hello_type"]) {
  fetches.set(name, { type: "int", minArgs: 0, maxArgs: 0, compile: () => reqHelloType });
}
for (const name of ["req.ssl_sni", "req_ssl_sni"]) {
  fetches.set(name, { type: "str", minArgs: 0, maxArgs: 0, compile: () => reqSni });
}

fetches.set("req.payload", {
  type: "str",
  minArgs: 2,
  maxArgs: 2,
  compile(args) {
    const nums = args.map((a, i) => {
      if (!/^\d+$/.test(a)) throw new AclError(`'${a}' is not a byte count`, { argIndex: i });
      return Number(a);
    });
    const [offset, length] = nums;
    return (req) => {
      const p = req.payload;
      if (!p) return null;
      // LENGTH 0: everything from OFFSET on (HAProxy).
      const end = length === 0 ? p.bytes.length : offset + length;
      if (p.bytes.length < end || (length === 0 && p.bytes.length <= offset)) {
        if (!p.final) p.miss = true;
        return null;
      }
      let s = "";
      for (let i = offset; i < end; i++) s += String.fromCharCode(p.bytes[i]);
      return s;
    };
  },
});
