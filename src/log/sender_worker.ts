// The sender worker (see sender.ts): owns the UDP/unix log sockets, receives batches of
// finished datagrams from the main thread and sends them, one FIFO per target, counting what
// it sent and dropped into the shared counters.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { FromWorker, ToWorker } from "./sender.ts";
import { type Transport, UdpTransport, UnixTransport } from "./sink.ts";

let counters: BigInt64Array | null = null;
const targets = new Map<number, { tr: Transport | null; active: boolean }>();

function count(slot: number, sent: number, dropped: number): void {
  if (!counters) return;
  if (sent) Atomics.add(counters, slot * 2, BigInt(sent));
  if (dropped) Atomics.add(counters, slot * 2 + 1, BigInt(dropped));
}

function reply(m: FromWorker): void {
  self.postMessage(m);
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.t) {
    case "init":
      counters = new BigInt64Array(m.counters);
      return;
    case "open": {
      const entry: { tr: Transport | null; active: boolean } = { tr: null, active: true };
      const opts = {
        queueLimit: m.queueLimit,
        inFlight: m.inFlight,
        // A send finishing after close (timeout) must not count for the slot's next target.
        onCount: (s: number, d: number) => {
          if (entry.active) count(m.slot, s, d);
        },
      };
      try {
        entry.tr = m.spec.kind === "udp"
          ? new UdpTransport(m.spec.host, m.spec.port, opts)
          : new UnixTransport(m.spec.path, opts);
      } catch {
        entry.tr = null; // every message for it is dropped (counted)
      }
      targets.set(m.slot, entry);
      return;
    }
    case "batch": {
      const b = new Uint8Array(m.buf, 0, m.used);
      let o = 0;
      while (o < m.used) {
        const slot = b[o];
        const n = b[o + 1] | (b[o + 2] << 8) | (b[o + 3] << 16);
        const tr = targets.get(slot)?.tr;
        // Views into the transferred buffer: no copy; it lives as long as a view does.
        if (tr) tr.send(b.subarray(o + 4, o + 4 + n));
        else count(slot, 0, 1);
        o += 4 + n;
      }
      return;
    }
    case "flush": {
      await targets.get(m.slot)?.tr?.flush(m.timeoutMs);
      reply({ t: "done", req: m.req });
      return;
    }
    case "close": {
      const entry = targets.get(m.slot);
      targets.delete(m.slot);
      if (entry) {
        await entry.tr?.close(m.timeoutMs);
        entry.active = false;
      }
      reply({ t: "done", req: m.req });
      return;
    }
  }
};
