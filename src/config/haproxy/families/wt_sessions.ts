// `wt-sessions [param NAME] [timeout DURATION] [max N]` in `global` (wtproxy only, no HAProxy
// equivalent): the live Wt session table; YAML `global.wt-sessions` (src/config/build/
// wt_sessions.ts validates both). Without arguments: Wt's defaults (wtd, 600 s, 100000).
import type { SrcEntry } from "../../model.ts";
import type { Cfg } from "../context.ts";
import type { Family, GlobalLine } from "./types.ts";

const WORDS = ["param", "timeout", "max"];

export const WT_SESSIONS: Family = {
  globalDirectives: { "wt-sessions": wtSessions },
};

function wtSessions(c: Cfg, { l, kw, kwLoc, args }: GlobalLine) {
  const entries: SrcEntry[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const word = args[i];
    const value = args[i + 1];
    // A bad word is reported and the rest of the line ignored; the table stays on (with the
    // words read so far) so that `balance sessions` does not get a follow-on error.
    if (!WORDS.includes(word.text)) {
      c.error(
        c.at(l, word),
        `'${kw}': unknown word '${word.text}' (expected param NAME, timeout DURATION, max N)`,
      );
      break;
    }
    if (!value) {
      c.error(c.at(l, word), `'${kw} ${word.text}' expects a value.`);
      break;
    }
    entries.push({
      key: word.text,
      keyLoc: c.at(l, word),
      value: word.text === "param" ? c.strNode(l, value) : c.intNode(l, value),
    });
  }
  c.globalEntries = c.globalEntries.filter((en) => en.key !== kw);
  c.globalEntries.push({
    key: kw,
    keyLoc: kwLoc,
    value: entries.length ? { kind: "map", entries, loc: kwLoc } : c.scalar(true, kwLoc),
    comment: c.takeComment(l),
  });
}
