// Process-level `global` keywords: privileges, daemonising, threads, limits, tuning.
import type { Family } from "./types.ts";

const PRIVILEGE = "privilege dropping and daemonising belong to the service manager " +
  "(systemd User=/Group=, the container's user); wtproxy stays in the foreground " +
  "with the user that started it";

export const PROCESS: Family = {
  global: {
    user: { level: "warn", why: PRIVILEGE },
    group: { level: "warn", why: PRIVILEGE },
    uid: { level: "warn", why: PRIVILEGE },
    gid: { level: "warn", why: PRIVILEGE },
    daemon: { level: "warn", why: PRIVILEGE },
    chroot: { level: "warn", why: "confine the process with the service manager or container" },
    pidfile: { level: "warn", why: "the service manager tracks the process" },
    "master-worker": {
      level: "warn",
      why: "wtproxy is one process; the service manager restarts it",
    },
    nbproc: { level: "warn", why: "wtproxy runs one process" },
    "cpu-map": { level: "warn", why: "wtproxy's threads are not pinned to CPUs" },
    "thread-groups": { level: "warn", why: "wtproxy's threads form one group" },
    "ulimit-n": { level: "warn", why: "set LimitNOFILE= in the service manager" },
    node: { level: "warn", why: "the stats page shows no node name" },
    description: { level: "warn", why: "the stats page shows no description" },
    quiet: { level: "warn", why: "wtproxy prints what it prints" },
    debug: { level: "warn", why: "wtproxy has no debug mode" },
    "zero-warning": { level: "warn", why: "not supported" },
    "set-dumpable": { level: "warn", why: "not supported" },
    "strict-limits": { level: "warn", why: "not supported" },
    "hard-stop-after": { level: "warn", why: "wtproxy drains connections for a fixed grace time" },
    grace: { level: "warn", why: "wtproxy drains connections for a fixed grace time" },
    "spread-checks": { level: "warn", why: "wtproxy spreads health checks over the interval" },
    "max-spread-checks": { level: "warn", why: "wtproxy spreads health checks over the interval" },
    "log-send-hostname": { level: "warn", why: "syslog lines are sent without a hostname" },
    maxconnrate: { level: "warn", why: "wtproxy limits concurrent connections only (maxconn)" },
    maxsessrate: { level: "warn", why: "wtproxy limits concurrent connections only (maxconn)" },
    maxpipes: { level: "warn", why: "wtproxy does not splice" },
    "server-state-file": {
      level: "warn",
      why: "wtproxy keeps server states across reloads itself",
    },
    "server-state-base": {
      level: "warn",
      why: "wtproxy keeps server states across reloads itself",
    },
    "h1-case-adjust": { level: "warn", why: "header names are sent lower-cased" },
    "h1-case-adjust-file": { level: "warn", why: "header names are sent lower-cased" },
    "unix-bind": { level: "warn", why: "wtproxy listens on TCP only" },
    localpeer: { level: "warn", why: "wtproxy has no peers" },
    "expose-experimental-directives": { level: "warn", why: "not needed" },
    "insecure-fork-wanted": { level: "warn", why: "not needed" },
    "busy-polling": { level: "warn", why: "not supported" },
    noepoll: { level: "warn", why: "not supported" },
    nopoll: { level: "warn", why: "not supported" },
    nosplice: { level: "warn", why: "not supported" },
  },
};
