// DNS resolvers and server templates: not implemented (the system resolver is used).
import type { Family } from "./types.ts";
import { pw } from "./types.ts";

export const RESOLVERS: Family = {
  sections: {
    resolvers: "wtproxy resolves server names with the system resolver",
  },
  proxy: {
    "server-template": { level: "error", why: "server templates are not supported" },
  },
  server: {
    resolvers: pw("value", "names are resolved with the system resolver"),
    "resolve-prefer": pw("value", "names are resolved with the system resolver"),
    "resolve-opts": pw("value", "names are resolved with the system resolver"),
    "resolve-net": pw("value", "names are resolved with the system resolver"),
    "init-addr": pw("value", "names are resolved with the system resolver"),
  },
};
