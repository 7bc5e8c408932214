// Log format keywords in proxies (the `log` directive itself is in log.ts).
import type { Family } from "./types.ts";

export const LOG_FORMATS: Family = {
  proxy: {
    capture: { level: "warn", why: "log lines carry no captured headers or cookies" },
    declare: { level: "warn", why: "log lines carry no captured headers or cookies" },
    "log-format": { level: "warn", why: "log lines use the httplog format" },
    "log-format-sd": { level: "warn", why: "log lines carry no structured data" },
    "error-log-format": { level: "warn", why: "log lines use the httplog format" },
    "log-tag": { level: "warn", why: "only the global 'log-tag' is used" },
  },
};
