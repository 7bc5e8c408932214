// Custom error pages (errorfile, http-errors): not implemented.
import type { Family } from "./types.ts";

export const ERRORS: Family = {
  sections: {
    "http-errors": "wtproxy serves its built-in error pages",
  },
  proxy: {
    "http-error": { level: "error", why: "custom error responses are not supported" },
    errorfile: { level: "error", why: "wtproxy serves its built-in error pages" },
    errorfiles: { level: "error", why: "wtproxy serves its built-in error pages" },
    errorloc: { level: "error", why: "wtproxy serves its built-in error pages" },
    errorloc302: { level: "error", why: "wtproxy serves its built-in error pages" },
    errorloc303: { level: "error", why: "wtproxy serves its built-in error pages" },
  },
};
