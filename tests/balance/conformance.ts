// One suite every Selector must pass (Hono runs one router suite against all routers).
import { ok as assert } from "node:assert/strict";
import { selectors, type ServerRef } from "../../src/balance/selector.ts";
import type { BackendConfig } from "../../src/config/model.ts";
import type { RequestInfo } from "../../src/proxy/request.ts";
import { ServerState } from "../../src/state.ts";
import { backend, server } from "../helpers/config.ts";
import { req } from "./fixture.ts";
import "../../src/balance/all.ts";

export interface Capabilities {
  /** Spreads requests over servers of equal weight (not `first`). */
  spreads: boolean;
  /** Follows weights without held connections (not `leastconn`, which needs load). */
  weighted: boolean;
  /** Same key -> same server while the set is unchanged (hash policies). */
  sticky: boolean;
}

export function refs(weights: number[], be = "b"): ServerRef[] {
  return weights.map((w, i) => {
    const config = server(`s${i + 1}`, 9000 + i, { weight: w });
    return { config, state: new ServerState(be, config.name, config) };
  });
}

/** Requests that differ in everything a policy might hash: client IP, path, parameter. */
export function variedRequest(i: number): RequestInfo {
  return req(`/r/${i}?k=v${i}&x=1`, { src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
}

function counts(picks: (ServerRef | undefined)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of picks) {
    assert(p, "picked nothing");
    m.set(p.config.name, (m.get(p.config.name) ?? 0) + 1);
  }
  return m;
}

export function selectorConformance(name: string, caps: Capabilities): void {
  const make = (extra: Partial<BackendConfig> = {}) =>
    selectors.get(name)!(backend("b", [], { balance: { algorithm: name, param: "k" }, ...extra }));

  Deno.test(`${name}: picks only from the given servers; one server -> that one`, () => {
    const all = refs([1, 1, 1, 1]);
    const sel = make();
    const one = [all[2]];
    for (let i = 0; i < 200; i++) assert(sel.pick(one, variedRequest(i)) === all[2]);
    // A down server is simply absent from the list: it must never come back from pick().
    const usable = [all[0], all[3]];
    for (let i = 0; i < 500; i++) {
      const p = sel.pick(usable, variedRequest(i));
      assert(p === all[0] || p === all[3], `${name} picked an absent server`);
    }
  });

  if (caps.spreads) {
    Deno.test(`${name}: spreads load when weights are equal`, () => {
      const all = refs([1, 1, 1]);
      const sel = make();
      const n = 3000;
      const c = counts(Array.from({ length: n }, (_, i) => sel.pick(all, variedRequest(i))));
      for (const s of all) {
        const share = (c.get(s.config.name) ?? 0) / n;
        assert(share > 0.25 && share < 0.42, `${s.config.name} got ${share}`);
      }
    });

    Deno.test(`${name}: a server that comes back is used again`, () => {
      const all = refs([1, 1]);
      const sel = make();
      for (let i = 0; i < 50; i++) sel.pick([all[1]], variedRequest(i));
      const c = counts(Array.from({ length: 400 }, (_, i) => sel.pick(all, variedRequest(i + 50))));
      assert((c.get("s1") ?? 0) > 100, `s1 got ${c.get("s1")} of 400 after returning`);
    });
  }

  if (caps.weighted) {
    Deno.test(`${name}: follows weights (3:1)`, () => {
      const all = refs([3, 1]);
      const sel = make();
      const n = 4000;
      const c = counts(Array.from({ length: n }, (_, i) => sel.pick(all, variedRequest(i))));
      const share = (c.get("s1") ?? 0) / n;
      assert(share > 0.68 && share < 0.82, `weight 3 of 4 got ${share}`);
    });
  }

  if (caps.sticky) {
    Deno.test(`${name}: the same key keeps its server`, () => {
      const all = refs([1, 1, 1]);
      const sel = make();
      for (let i = 0; i < 100; i++) {
        const first = sel.pick(all, variedRequest(i));
        for (let k = 0; k < 3; k++) assert(sel.pick(all, variedRequest(i)) === first);
      }
    });
  }
}
