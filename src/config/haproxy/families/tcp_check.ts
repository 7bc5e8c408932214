// `tcp-check connect|send|send-binary|expect|comment` lines: each becomes one rule text in the
// backend's `tcp-check` list (HAProxy's words, e.g. "expect string +PONG"), read by the
// builder (src/config/build/tcp_check.ts).
import type { SrcNode } from "../../model.ts";
import type { Cfg } from "../context.ts";
import type { Family, ProxyLine } from "./types.ts";

export const TCP_CHECK: Family = {
  proxyDirectives: { "tcp-check": tcpCheck },
};

const MATCHES = ["string", "binary", "rstring", "rbinary"];

function tcpCheck(c: Cfg, x: ProxyLine) {
  const { l, args, kwLoc, settings, set } = x;
  if (!x.capable("be", "tcp-check")) return;
  const sub = args[0]?.text ?? "";
  const subLoc = args[0] ? c.at(l, args[0]) : kwLoc;
  const rest = args.slice(1);
  let text: string | null = null;
  switch (sub) {
    case "comment":
      c.noteIgnored(l, "a comment");
      return;
    case "connect": {
      const parts = ["connect"];
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i].text;
        if (a === "port") {
          const v = rest[i + 1]?.text ?? "";
          if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
            c.error(
              c.at(l, rest[i]),
              `'tcp-check connect' : 'port' expects a port number, got '${v}'.`,
            );
            return;
          }
          parts.push("port", v);
          i++;
        } else if (a === "default" || a === "linger") {
          continue; // wtproxy's check connections behave this way already
        } else if (a === "comment") {
          i++;
        } else {
          c.error(
            c.at(l, rest[i]),
            `'tcp-check connect ${a}' is not supported by wtproxy (only 'port <N>', 'default', ` +
              `'linger' and 'comment').`,
          );
          return;
        }
      }
      text = parts.join(" ");
      break;
    }
    case "send":
    case "send-binary": {
      if (!rest[0]) {
        c.error(
          subLoc,
          `'tcp-check ${sub}' expects a ${
            sub === "send" ? "string" : "hexadecimal string"
          } as argument.`,
        );
        return;
      }
      if (rest[1] && rest[1].text !== "comment") {
        c.unexpected(l, `tcp-check ${sub}`, rest[1]);
        return;
      }
      if (sub === "send-binary" && !/^([0-9a-fA-F]{2})+$/.test(rest[0].text)) {
        c.error(
          c.at(l, rest[0]),
          `'tcp-check send-binary' : '${rest[0].text}' is not a hexadecimal string.`,
        );
        return;
      }
      text = `${sub} ${rest[0].text}`;
      break;
    }
    case "expect": {
      const parts = ["expect"];
      let i = 0;
      while (i < rest.length) {
        const a = rest[i].text;
        if (a === "min-recv") {
          const v = rest[i + 1]?.text ?? "";
          if (!/^-?\d+$/.test(v)) {
            c.error(
              c.at(l, rest[i]),
              `'tcp-check expect' : 'min-recv' expects an integer, got '${v}'.`,
            );
            return;
          }
          parts.push("min-recv", v);
          i += 2;
        } else if (a === "comment") i += 2;
        else if (
          ["ok-status", "error-status", "tout-status", "on-success", "on-error", "status-code"]
            .includes(a)
        ) {
          c.error(
            c.at(l, rest[i]),
            `'tcp-check expect ${a}' is not supported by wtproxy (HAProxy's default statuses and ` +
              `messages are used).`,
          );
          return;
        } else break;
      }
      if (rest[i]?.text === "!") {
        parts.push("!");
        i++;
      }
      const match = rest[i]?.text ?? "";
      if (!MATCHES.includes(match)) {
        c.error(
          rest[i] ? c.at(l, rest[i]) : subLoc,
          match === "string-lf" || match === "binary-lf" || match === "custom"
            ? `'tcp-check expect ${match}' is not supported by wtproxy (only 'string', 'binary', ` +
              `'rstring' and 'rbinary').`
            : `'tcp-check expect' expects 'string', 'rstring', 'binary' or 'rbinary' but got '${match}'.`,
        );
        return;
      }
      const pat = rest[i + 1];
      if (!pat) {
        c.error(c.at(l, rest[i]), `'tcp-check expect ${match}' expects <pattern> as an argument.`);
        return;
      }
      if (rest[i + 2] && rest[i + 2].text !== "comment") {
        c.unexpected(l, "tcp-check expect", rest[i + 2]);
        return;
      }
      parts.push(match, pat.text);
      text = parts.join(" ");
      break;
    }
    case "send-lf":
    case "send-binary-lf":
    case "set-var":
    case "unset-var":
      c.error(
        subLoc,
        `'tcp-check ${sub}' is not supported by wtproxy (log-format and variables in checks).`,
      );
      return;
    default:
      c.error(
        subLoc,
        `'tcp-check' expects 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var' ` +
          `or 'unset-var' but got '${sub}'.`,
      );
      return;
  }
  const prev = settings.get("tcp-check");
  const items: SrcNode[] = prev?.node.kind === "seq" ? [...prev.node.items] : [];
  items.push(c.scalar(text, subLoc));
  set("tcp-check", { kind: "seq", items, loc: prev?.keyLoc ?? kwLoc }, prev?.keyLoc ?? kwLoc, "be");
}
