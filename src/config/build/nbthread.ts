// `global.nbthread` (HAProxy's `nbthread`): data-plane threads, 1 to 64. Absent: the command
// line uses every CPU available, as HAProxy does.
import type { GlobalSection } from "../model.ts";
import type { SectionRule } from "./rules.ts";

/** HAProxy's MAX_THREADS on 64-bit builds. */
export const MAX_NBTHREAD = 64;

export const GLOBAL_NBTHREAD: SectionRule<GlobalSection> = {
  keys: ["nbthread"],
  read(r, f, path, out) {
    const n = r.int(f.get("nbthread"), `${path}.nbthread`, 1, MAX_NBTHREAD);
    if (n !== undefined) out.nbthread = n;
  },
};
