// The core proxy settings: mode, maxconn, retries, timeouts (and the pre-2.1 spellings),
// default_backend, balance.
import type { Cfg } from "../context.ts";
import { lacks } from "../context.ts";
import { TIMEOUTS } from "./index.ts";
import type { Family, ProxyLine } from "./types.ts";

const LEGACY_TIMEOUTS: Record<string, string> = {
  contimeout: "connect",
  clitimeout: "client",
  srvtimeout: "server",
};

export const PROXY: Family = {
  proxyDirectives: {
    mode,
    maxconn,
    retries,
    timeout,
    contimeout: legacyTimeout,
    clitimeout: legacyTimeout,
    srvtimeout: legacyTimeout,
    redispatch,
    default_backend: defaultBackend,
    balance,
  },
};

function mode(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, set } = x;
  if (!args[0]) {
    c.error(kwLoc, `'mode' expects one of 'http', 'tcp' or 'health'.`);
    return;
  }
  if (!c.noExtra(l, "mode", 1)) return;
  if (args[0].text !== "http" && args[0].text !== "tcp") {
    if (args[0].text === "health") {
      c.error(
        c.at(l, args[0]),
        `'mode health' doesn't exist anymore. Please use 'http-request return status 200' instead.`,
      );
    } else {
      c.error(c.at(l, args[0]), `unknown proxy mode '${args[0].text}'.`);
    }
    return;
  }
  set("mode", c.strNode(l, args[0]), kwLoc, "both");
}

function maxconn(c: Cfg, x: ProxyLine) {
  const { l, p, kwLoc, args, where, set } = x;
  if (!args[0]) {
    c.error(kwLoc, `'maxconn' expects an integer argument.`);
    return;
  }
  if (p && p.type === "backend") {
    c.warn(
      kwLoc,
      `'maxconn' ignored because ${where} has no frontend capability. ` +
        `Maybe you want 'fullconn' instead ? (wtproxy limits servers with 'server ... maxconn')`,
    );
    c.noteIgnored(l, "ignored by wtproxy");
    return;
  }
  if (!c.noExtra(l, "maxconn", 1)) return;
  set("maxconn", c.intNode(l, args[0]), kwLoc, "fe");
  return;
}

function retries(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, capable, set } = x;
  if (!args[0]) {
    c.error(kwLoc, `'retries' expects an integer argument.`);
    return;
  }
  if (!capable("be", "retries")) return;
  if (!c.noExtra(l, "retries", 1)) return;
  set("retries", c.intNode(l, args[0]), kwLoc, "be");
  return;
}

function timeout(c: Cfg, x: ProxyLine) {
  const { l, p, kwLoc, args, where, set } = x;
  const name = args[0]?.text ?? "";
  const spec = TIMEOUTS[name];
  if (!spec) {
    c.error(
      args[0] ? c.at(l, args[0]) : kwLoc,
      `'timeout' supports 'client', 'server', 'connect', 'check', 'queue', ` +
        `'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and ` +
        `'server-fin' (got '${name}')`,
    );
    return;
  }
  if (!args[1]) {
    c.error(kwLoc, `'timeout ${name}' expects an integer value (in milliseconds)`);
    return;
  }
  if (!c.noExtra(l, `timeout ${name}`, 2)) return;
  if (lacks(p, spec.cap)) {
    c.warn(
      kwLoc,
      `'timeout ${name}' will be ignored because ${where} has no ${
        spec.cap === "fe" ? "frontend" : "backend"
      } capability`,
    );
    c.noteIgnored(l, "ignored by wtproxy");
    return;
  }
  if (spec.unsupported) {
    c.unsupported(l, spec.unsupported, `timeout ${name}`);
    return;
  }
  set(`timeouts.${name}`, c.durationNode(l, args[1]), c.at(l, args[0]), spec.cap);
}

function legacyTimeout(c: Cfg, x: ProxyLine) {
  const { l, p, kw, kwLoc, args, set } = x;
  const name = LEGACY_TIMEOUTS[kw];
  if (!args[0]) {
    c.error(kwLoc, `'${kw}' expects an integer value (in milliseconds)`);
    return;
  }
  if (!c.noExtra(l, kw, 1)) return;
  c.warn(
    kwLoc,
    `the '${kw}' directive is not supported anymore since HAProxy 2.1 (HAProxy refuses ` +
      `this file). wtproxy runs it as 'timeout ${name} ${args[0].text}'. Use 'timeout ${name}'.`,
  );
  c.keep(`was '${kw} ${args[0].text}' (HAProxy 2.1+ refuses it)`);
  const cap = TIMEOUTS[name].cap;
  if (lacks(p, cap)) return;
  set(`timeouts.${name}`, c.durationNode(l, args[0]), kwLoc, cap);
}

function redispatch(c: Cfg, x: ProxyLine) {
  const { kwLoc, capable, set } = x;
  c.warn(
    kwLoc,
    `keyword 'redispatch' directive is not supported anymore since HAProxy 2.1 (HAProxy ` +
      `refuses this file). wtproxy runs it as 'option redispatch'. Use 'option redispatch'.`,
  );
  if (!capable("be", "redispatch")) return;
  set("options.redispatch", c.scalar(true, kwLoc), kwLoc, "be");
  return;
}

function defaultBackend(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, capable, set } = x;
  if (!args[0]) {
    c.error(kwLoc, `'default_backend' expects a backend name.`);
    return;
  }
  if (!capable("fe", "default_backend")) return;
  if (!c.noExtra(l, "default_backend", 1)) return;
  set("default_backend", c.strNode(l, args[0]), kwLoc, "fe");
  return;
}

function balance(c: Cfg, x: ProxyLine) {
  const { l, kwLoc, args, capable, set } = x;
  if (!args[0]) {
    c.error(kwLoc, `'balance' expects an algorithm (e.g. 'balance roundrobin').`);
    return;
  }
  if (!capable("be", "balance")) return;
  set(
    "balance",
    c.scalar(args.map((a) => a.text).join(" "), c.at(l, args[0])),
    kwLoc,
    "be",
  );
  return;
}
