// HAProxy's stats page and socket: wtproxy serves stats on its admin listener.
import type { Family } from "./types.ts";

export const STATS: Family = {
  global: {
    stats: {
      level: "warn",
      why: "wtproxy serves stats and runtime commands on the admin listener",
    },
  },
  proxy: {
    stats: { level: "warn", why: "wtproxy serves stats on the admin listener (YAML 'admin:')" },
  },
};
