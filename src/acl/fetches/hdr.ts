// Header fetches. The request's same-name lines come combined with ", ", and HAProxy's
// hdr() splits values on commas anyway, so splitting the combined line gives HAProxy's view.
import type { RequestInfo } from "../../proxy/request.ts";
import { AclError, fetches, type Sample } from "../types.ts";

function values(req: RequestInfo, name: string | null): string[] {
  if (name !== null) {
    const v = req.headers.get(name);
    return v === null ? [] : v.split(",").map((s) => s.trim());
  }
  const out: string[] = [];
  for (const [, v] of req.headers) for (const s of v.split(",")) out.push(s.trim());
  return out;
}

/** `hdr([name[,occ]])`: every value of the header (occ: 1 = first, -1 = last). */
const hdr = {
  type: "str" as const,
  minArgs: 0,
  maxArgs: 2,
  multi: true,
  compile(args: readonly string[]) {
    const name = args[0] ? args[0].toLowerCase() : null;
    if (args.length > 1) {
      if (!/^-?\d+$/.test(args[1]) || Number(args[1]) === 0) {
        throw new AclError(`invalid occurrence '${args[1]}'`, { argIndex: 1 });
      }
      const occ = Number(args[1]);
      // Still a list (multi fetch): empty when there is no such occurrence.
      return (req: RequestInfo): Sample[] => {
        const all = values(req, name);
        const i = occ > 0 ? occ - 1 : all.length + occ;
        return i >= 0 && i < all.length ? [all[i]] : [];
      };
    }
    return (req: RequestInfo) => values(req, name);
  },
};
fetches.set("hdr", hdr);
fetches.set("req.hdr", hdr);

/** `hdr_cnt([name])`: how many values the header has (0 when absent). */
const hdrCnt = {
  type: "int" as const,
  minArgs: 0,
  maxArgs: 1,
  compile(args: readonly string[]) {
    const name = args[0] ? args[0].toLowerCase() : null;
    return (req: RequestInfo) => values(req, name).length;
  },
};
fetches.set("hdr_cnt", hdrCnt);
fetches.set("req.hdr_cnt", hdrCnt);
