// How should workers share server state? Measures the two designs issue 15 weighs:
// a SharedArrayBuffer read/written with Atomics, or messages between threads.
//   deno run -A scripts/bench_shared.ts
// 1. Propagation: how long until another thread sees a change (ping-pong, half a round trip).
// 2. Cost on the request path: reading a server's state, counting a connection in and out.

const N = 200_000;
const ROUNDS = 20_000;

const workerSource = `
self.onmessage = (e) => {
  const m = e.data;
  if (m.kind === "sab") {
    const a = new Int32Array(m.sab);
    for (let i = 1; i <= m.rounds; i++) {
      while (Atomics.load(a, 0) !== i) {}
      Atomics.store(a, 1, i);
    }
  } else if (m.kind === "msg") {
    self.onmessage = (e2) => self.postMessage(e2.data);
    self.postMessage("ready");
  }
};
`;
const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));

function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`;
}

async function propagationSab(): Promise<number> {
  const w = new Worker(url, { type: "module" });
  const sab = new SharedArrayBuffer(8);
  const a = new Int32Array(sab);
  w.postMessage({ kind: "sab", sab, rounds: ROUNDS });
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  for (let i = 1; i <= ROUNDS; i++) {
    Atomics.store(a, 0, i);
    while (Atomics.load(a, 1) !== i) { /* spin */ }
  }
  const ns = (performance.now() - t0) * 1e6 / ROUNDS / 2;
  w.terminate();
  return ns;
}

async function propagationMsg(): Promise<number> {
  const w = new Worker(url, { type: "module" });
  w.postMessage({ kind: "msg" });
  await new Promise<void>((r) => w.onmessage = () => r());
  const rounds = ROUNDS / 4;
  let i = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    w.onmessage = () => {
      if (++i === rounds) done();
      else w.postMessage(i);
    };
    w.postMessage(0);
  });
  const ns = (performance.now() - t0) * 1e6 / rounds / 2;
  w.terminate();
  return ns;
}

function perRequest(): Record<string, number> {
  const sab = new Int32Array(new SharedArrayBuffer(64));
  const plain = { health: 1, current: 0 };
  let sink = 0;
  const time = (f: () => void) => {
    for (let i = 0; i < 3; i++) f(); // warm up
    const t0 = performance.now();
    f();
    return (performance.now() - t0) * 1e6 / N;
  };
  const out = {
    "read state, plain field": time(() => {
      for (let i = 0; i < N; i++) sink += plain.health;
    }),
    "read state, Atomics.load": time(() => {
      for (let i = 0; i < N; i++) sink += Atomics.load(sab, 0);
    }),
    "read state, typed array (SAB)": time(() => {
      for (let i = 0; i < N; i++) sink += sab[0];
    }),
    "conn in+out, plain ++/--": time(() => {
      for (let i = 0; i < N; i++) {
        plain.current++;
        plain.current--;
      }
    }),
    "conn in+out, Atomics.add/sub": time(() => {
      for (let i = 0; i < N; i++) {
        Atomics.add(sab, 1, 1);
        Atomics.sub(sab, 1, 1);
      }
    }),
  };
  if (sink === -1) console.log(sink);
  return out;
}

/** Cost on the sending thread of one message per connection in and out (no receiver work). */
function perRequestMessages(): number {
  const ch = new MessageChannel();
  const n = N / 10;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    ch.port1.postMessage({ k: "open", s: 3 });
    ch.port1.postMessage({ k: "close", s: 3 });
  }
  const ns = (performance.now() - t0) * 1e6 / n;
  ch.port1.close();
  ch.port2.close();
  return ns;
}

const sab = await propagationSab();
const msg = await propagationMsg();
console.log("Propagation of a state change to another thread (one way):");
console.log(`  SharedArrayBuffer + Atomics   ${fmt(sab)}`);
console.log(`  postMessage                   ${fmt(msg)}`);
console.log("Request-path cost per operation:");
for (const [k, v] of Object.entries(perRequest())) console.log(`  ${k.padEnd(30)}${fmt(v)}`);
console.log(`  ${"conn in+out, 2 postMessages".padEnd(30)}${fmt(perRequestMessages())}`);
