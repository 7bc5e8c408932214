// The `global` directives wtproxy implements: maxconn, nbthread, log-tag, and the environment ones
// (setenv, presetenv, unsetenv, resetenv) that later "${VAR}" words see. `log`: log.ts.
import type { Cfg } from "../context.ts";
import type { Family, GlobalLine } from "./types.ts";

export const GLOBAL: Family = {
  globalDirectives: {
    maxconn: setting,
    nbthread: setting,
    "log-tag": setting,
    setenv,
    presetenv: setenv,
    unsetenv: (c, { l, args }) => {
      for (const a of args) c.envOverlay.set(a.text, null);
      c.takeComment(l);
    },
    resetenv: (c, { l, args }) => {
      const keep = new Map<string, string | null>();
      for (const a of args) keep.set(a.text, c.env(a.text) ?? null);
      c.envOverlay.clear();
      for (const [k, v] of keep) c.envOverlay.set(k, v);
      c.resetEnv = true;
      c.takeComment(l);
    },
  },
};

function setting(c: Cfg, { l, kw, kwLoc, args }: GlobalLine) {
  if (!args[0]) {
    c.error(
      kwLoc,
      kw === "log-tag"
        ? `'log-tag' expects a tag for use in syslog.`
        : `'${kw}' expects an integer argument.`,
    );
    return;
  }
  if (!c.noExtra(l, kw, 1)) return;
  const node = kw === "log-tag" ? c.strNode(l, args[0]) : c.intNode(l, args[0]);
  c.globalEntries = c.globalEntries.filter((en) => en.key !== kw);
  c.globalEntries.push({
    key: kw,
    keyLoc: kwLoc,
    value: node,
    comment: c.takeComment(l),
  });
}

function setenv(c: Cfg, { l, kw, kwLoc, args }: GlobalLine) {
  if (args.length !== 2) {
    c.error(kwLoc, `'${kw}' expects a name and a value.`);
    return;
  }
  if (kw === "setenv" || c.env(args[0].text) === undefined) {
    c.envOverlay.set(args[0].text, args[1].text);
  }
  c.takeComment(l);
}
