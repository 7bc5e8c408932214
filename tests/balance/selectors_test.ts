// The conformance suite over every registered policy, then each policy's own behaviour.
import { deepStrictEqual as assertEquals, equal, ok as assert } from "node:assert/strict";
import { type Capabilities, refs, selectorConformance, variedRequest } from "./conformance.ts";
import { selectors } from "../../src/balance/selector.ts";
import { powerOfChoices } from "../../src/balance/random.ts";
import { backend } from "../helpers/config.ts";
import { req } from "./fixture.ts";
import "../../src/balance/all.ts";

const CAPS: Record<string, Capabilities> = {
  roundrobin: { spreads: true, weighted: true, sticky: false },
  "static-rr": { spreads: true, weighted: true, sticky: false },
  leastconn: { spreads: true, weighted: false, sticky: false },
  first: { spreads: false, weighted: false, sticky: false },
  source: { spreads: true, weighted: true, sticky: true },
  uri: { spreads: true, weighted: true, sticky: true },
  url_param: { spreads: true, weighted: true, sticky: true },
  random: { spreads: true, weighted: true, sticky: false },
  sessions: { spreads: true, weighted: true, sticky: false },
};

Deno.test("every registered policy has a capability row (so none skips conformance)", () => {
  assertEquals([...selectors.keys()].sort(), Object.keys(CAPS).sort());
});
for (const name of selectors.keys()) {
  selectorConformance(name, CAPS[name] ?? { spreads: true, weighted: true, sticky: false });
}

const sel = (name: string, param: string | null = null) =>
  selectors.get(name)!(backend("b", [], { balance: { algorithm: name, param } }));
const names = (picks: ({ config: { name: string } } | undefined)[]) =>
  picks.map((p) => p!.config.name);

Deno.test("roundrobin: s1 s2 s3 s4 s1 (balance-rr.vtc), smooth weights, dynamic weight", () => {
  const four = refs([1, 1, 1, 1]);
  const rr = sel("roundrobin");
  assertEquals(names([0, 1, 2, 3, 4].map(() => rr.pick(four, req("/")))), [
    "s1",
    "s2",
    "s3",
    "s4",
    "s1",
  ]);
  const w = refs([2, 1]);
  const rr2 = sel("roundrobin");
  // Smooth: the heavy server's turns are spread out (a b a), not bunched (a a b).
  assertEquals(names([0, 1, 2, 3, 4, 5].map(() => rr2.pick(w, req("/")))), [
    "s1",
    "s2",
    "s1",
    "s1",
    "s2",
    "s1",
  ]);
  w[1].state.weight = 2; // admin API `set weight`: roundrobin follows it
  const c = names(Array.from({ length: 400 }, () => rr2.pick(w, req("/"))));
  equal(c.filter((n) => n === "s2").length, 200);
});

Deno.test("static-rr: runtime weight changes do not change the proportions", () => {
  const w = refs([1, 1]);
  w[1].state.weight = 5;
  const srr = sel("static-rr");
  const c = names(Array.from({ length: 100 }, () => srr.pick(w, req("/"))));
  equal(c.filter((n) => n === "s2").length, 50);
});

Deno.test("leastconn: fewest connections per weight; ties take turns", () => {
  const s = refs([1, 1, 2]);
  const lc = sel("leastconn");
  s[0].state.counters.current = 3;
  s[1].state.counters.current = 1;
  s[2].state.counters.current = 4; // 4/2 = 2
  equal(lc.pick(s, req("/"))!.config.name, "s2");
  s[1].state.counters.current = 3;
  equal(lc.pick(s, req("/"))!.config.name, "s3"); // 2 < 3
  for (const r of s) r.state.counters.current = 0;
  const picks = names(Array.from({ length: 6 }, () => lc.pick(s, req("/"))));
  assertEquals(new Set(picks).size, 3);
});

Deno.test("first: fills the first server up to its maxconn, then the next", () => {
  const s = refs([1, 1]);
  s[0].config = { ...s[0].config, maxconn: 2 };
  s[1].config = { ...s[1].config, maxconn: 1 };
  const f = sel("first");
  equal(f.pick(s, req("/"))!.config.name, "s1");
  s[0].state.counters.current = 2;
  equal(f.pick(s, req("/"))!.config.name, "s2");
  s[1].state.counters.current = 1;
  equal(f.pick(s, req("/")), undefined); // all full: no queue, no server
});

Deno.test("source: one client IP, one server; IPv6 too", () => {
  const s = refs([1, 1, 1]);
  const src = sel("source");
  for (const ip of ["192.0.2.1", "2001:db8::7", "::ffff:10.0.0.1"]) {
    const a = src.pick(s, req("/a", { src: ip }));
    const b = src.pick(s, req("/b?x=1", { src: ip }));
    assert(a === b, ip);
  }
});

Deno.test("uri: the path decides (query ignored unless `whole`)", () => {
  const s = refs([1, 1, 1, 1]);
  const u = sel("uri");
  for (let i = 0; i < 50; i++) {
    assert(u.pick(s, req(`/p/${i}?a=1`)) === u.pick(s, req(`/p/${i}?a=2`)));
  }
  const whole = sel("uri", "whole");
  const differ = Array.from({ length: 50 }, (_, i) => i).some((i) =>
    whole.pick(s, req(`/p?a=${i}`)) !== whole.pick(s, req(`/p?a=${i + 1}`))
  );
  assert(differ, "uri whole hashes the query too");
});

Deno.test("url_param: hashes the first value; without it, round robin", () => {
  const s = refs([1, 1]);
  const up = sel("url_param", "user");
  for (let i = 0; i < 50; i++) {
    assert(up.pick(s, req(`/?user=u${i}&user=zz`)) === up.pick(s, req(`/x?a=1&user=u${i}`)));
  }
  assertEquals(names([0, 1, 2, 3].map(() => up.pick(s, req("/?other=1")))), [
    "s1",
    "s2",
    "s1",
    "s2",
  ]);
});

Deno.test("random: of two draws the less loaded wins", () => {
  const s = refs([1, 1]);
  s[0].state.counters.current = 5;
  // Draws s1 then s2: s2 has fewer connections.
  const seq = [0.1, 0.9];
  let i = 0;
  const p2c = powerOfChoices(2, () => seq[i++ % seq.length]);
  equal(p2c.pick(s, variedRequest(0))!.config.name, "s2");
  // One draw only: whatever is drawn.
  i = 0;
  equal(
    powerOfChoices(1, () => seq[i++ % seq.length]).pick(s, variedRequest(0))!.config.name,
    "s1",
  );
});

Deno.test("sessions: fewest live Wt sessions per weight; ties take turns by weight; maxconn", () => {
  const s = refs([1, 1, 2]);
  const ws = sel("sessions");
  s[0].state.wtSessions = 3;
  s[1].state.wtSessions = 1;
  s[2].state.wtSessions = 4; // 4/2 = 2
  equal(ws.pick(s, req("/"))!.config.name, "s2");
  s[1].state.wtSessions = 3;
  equal(ws.pick(s, req("/"))!.config.name, "s3"); // 2 < 3
  // No session anywhere: weighted turns (s3 twice as often), smooth.
  for (const r of s) r.state.wtSessions = 0;
  assertEquals(names(Array.from({ length: 8 }, () => ws.pick(s, req("/")))).sort(), [
    "s1",
    "s1",
    "s2",
    "s2",
    "s3",
    "s3",
    "s3",
    "s3",
  ]);
  // A server at its maxconn is passed over; all full: none (503, no queue).
  s[2].config = { ...s[2].config, maxconn: 1 };
  s[2].state.counters.current = 1;
  for (let i = 0; i < 6; i++) assert(ws.pick(s, req("/"))!.config.name !== "s3");
  s[0].config = { ...s[0].config, maxconn: 1 };
  s[0].state.counters.current = 1;
  s[1].config = { ...s[1].config, maxconn: 2 };
  s[1].state.counters.current = 2;
  equal(ws.pick(s, req("/")), undefined);
});

Deno.test("sessions: new sessions follow the weights while sessions come and go (distribution)", () => {
  // 3 servers, weights 1:1:2; each pick starts a session there (as the table counts it once
  // the session's first request is answered); sessions end at random.
  const s = refs([1, 1, 2]);
  const ws = sel("sessions");
  const live: number[] = [];
  const picks = [0, 0, 0];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 5000; i++) {
    const loads = s.map((r) => r.state.wtSessions / r.state.weight);
    const p = ws.pick(s, req("/"))!;
    // Always a server with the fewest live sessions per unit of weight.
    assert(loads[s.indexOf(p)] === Math.min(...loads), `picked ${p.config.name} at ${loads}`);
    p.state.wtSessions++;
    picks[s.indexOf(p)]++;
    live.push(s.indexOf(p));
    if (live.length > 40) {
      const k = Math.floor(rnd() * live.length);
      s[live[k]].state.wtSessions--;
      live.splice(k, 1);
    }
  }
  const shares = picks.map((n) => n / 5000);
  assert(Math.abs(shares[0] - 0.25) < 0.03 && Math.abs(shares[2] - 0.5) < 0.03, `${shares}`);
  // At the end the live sessions per unit of weight differ by little.
  const loads = s.map((r) => r.state.wtSessions / r.state.weight);
  assert(Math.max(...loads) - Math.min(...loads) <= 4, `${loads}`);
});
