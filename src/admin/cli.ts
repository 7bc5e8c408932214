// The command line's side of the admin listener: `--admin ADDR:PORT` (main.ts's OPTIONS).
// src/runtime.ts starts and stops the listener itself (startAdmin) when config.admin is set.

import { AddressError, isLoopback, parseAddress } from "../config/address.ts";
import { type Config, ConfigError } from "../config/model.ts";

/** Environment variable giving the admin token when the YAML file does not. */
export const TOKEN_ENV = "WTPROXY_ADMIN_TOKEN";

function envToken(): string | null {
  try {
    const t = Deno.env.get(TOKEN_ENV);
    return t ? t : null;
  } catch {
    return null; // no --allow-env: the YAML token (if any) is the only source
  }
}

/**
 * `--admin ADDR:PORT`: turns the admin listener on (or moves it) for this run. The token is the
 * file's `admin.token`, else $WTPROXY_ADMIN_TOKEN; a non-loopback address needs one.
 */
export function applyAdminFlag(value: string | boolean, config: Config): Config {
  // Line 0: not in a file; printed as `wtproxy: error: ...`.
  const loc = { file: "command line", line: 0, col: 0 };
  const fail = (message: string): never => {
    throw new ConfigError([{ ...loc, severity: "error", message }]);
  };
  if (typeof value !== "string") {
    return fail("--admin needs ADDR:PORT, e.g. --admin 127.0.0.1:9100");
  }
  let address;
  try {
    address = parseAddress(value, { allowPortZero: true });
  } catch (err) {
    if (err instanceof AddressError) return fail(`--admin: ${err.message}`);
    throw err;
  }
  const token = config.admin?.token ?? envToken();
  if (token === null && !isLoopback(address)) {
    fail(
      `--admin: ${value} is reachable from other machines: set admin.token in the file or ` +
        `${TOKEN_ENV}, or bind 127.0.0.1`,
    );
  }
  return { ...config, admin: { bind: { ...address, text: value, loc }, token, loc } };
}
