// Words of a .cfg line as HAProxy reads them: blanks split, "#" starts a comment, quotes,
// backslash escapes and environment variables ("$VAR" and "${VAR}" inside double quotes,
// "${VAR-default}", "${VAR[*]}" split into several words).
import type { Cfg } from "./context.ts";

export interface Word {
  /** After quotes, escapes and environment variables are processed. */
  text: string;
  /** 1-based column of the word's first character in the line. */
  col: number;
  /** 0-based index just after the word's last character in the line. */
  end: number;
  /** The word contained quotes, escapes or variables (its raw text differs from `text`). */
  processed: boolean;
  /** An environment variable was expanded in it. */
  expanded?: boolean;
}

export interface Line {
  no: number;
  raw: string;
  words: Word[];
  /** Text after an unprotected "#" (without it), or null. */
  comment: string | null;
}

const VAR_NAME = /^(?:\.[A-Z]+|[A-Za-z_][A-Za-z0-9_]*)/;

export function tokenize(c: Cfg, raw: string, no: number): Line {
  const words: Word[] = [];
  let comment: string | null = null;
  let i = 0;
  const n = raw.length;
  while (i < n) {
    const first = raw[i];
    if (first === " " || first === "\t") {
      i++;
      continue;
    }
    if (first === "#") {
      comment = raw.slice(i + 1);
      break;
    }
    // one word
    const start = i;
    let text = "";
    let processed = false;
    let expanded = false;
    const extra: Word[] = [];
    let quote: '"' | "'" | null = null;
    let quoteCol = 0;
    while (i < n) {
      const ch = raw[i];
      if (quote === "'") {
        if (ch === "'") quote = null;
        else text += ch;
        i++;
        continue;
      }
      if (quote === null && (ch === " " || ch === "\t" || ch === "#")) break;
      if (ch === "\\") {
        processed = true;
        const nx = raw[i + 1];
        if (nx === undefined) {
          text += "\\";
          i++;
          continue;
        }
        const simple: Record<string, string> = {
          " ": " ",
          "\t": "\t",
          "#": "#",
          "\\": "\\",
          "'": "'",
          '"': '"',
          "$": "$",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (nx in simple) {
          text += simple[nx];
          i += 2;
        } else if (nx === "x" && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4))) {
          text += String.fromCharCode(parseInt(raw.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          // unknown escapes stay as written (regular expressions such as `\.` keep working)
          text += "\\" + nx;
          i += 2;
        }
        continue;
      }
      if (ch === '"') {
        processed = true;
        if (quote === '"') quote = null;
        else {
          quote = '"';
          quoteCol = i + 1;
        }
        i++;
        continue;
      }
      if (ch === "'" && quote === null) {
        processed = true;
        quote = "'";
        quoteCol = i + 1;
        i++;
        continue;
      }
      if (ch === "$" && quote === '"') {
        const r = expandVar(c, raw, i, no);
        if (r) {
          processed = true;
          expanded = true;
          if (r.split && r.value.trim() !== "") {
            // "${VAR[*]}": each space-separated part of the value is a word of its own
            const parts = r.value.trim().split(/\s+/);
            text += parts[0];
            for (const p of parts.slice(1)) {
              extra.push({ text, col: start + 1, end: r.next, processed: true, expanded: true });
              text = p;
            }
          } else text += r.value;
          i = r.next;
          continue;
        }
      }
      text += ch;
      i++;
    }
    if (quote !== null) {
      c.error(
        c.loc(no, quoteCol),
        `unmatched quote at position ${quoteCol}: the line ends inside a ${
          quote === '"' ? "double" : "single"
        }-quoted string`,
      );
      return { no, raw, words: [], comment: null };
    }
    words.push(...extra, { text, col: start + 1, end: i, processed, expanded });
  }
  return { no, raw, words, comment };
}

export function expandVar(
  c: Cfg,
  raw: string,
  i: number,
  no: number,
): { value: string; next: number; split: boolean } | null {
  // raw[i] === "$"
  if (raw[i + 1] === "{") {
    const close = raw.indexOf("}", i + 2);
    if (close < 0) {
      c.error(c.loc(no, i + 1), `missing '}' after '\${' (environment variable)`);
      return { value: "", next: raw.length, split: false };
    }
    let inner = raw.slice(i + 2, close);
    let split = false;
    if (inner.endsWith("[*]")) {
      split = true;
      inner = inner.slice(0, -3);
    }
    const m = VAR_NAME.exec(inner);
    if (!m) {
      c.error(
        c.loc(no, i + 1),
        `invalid environment variable name '${inner}': use letters, digits and '_'`,
      );
      return { value: "", next: close + 1, split: false };
    }
    const name = m[0];
    const rest = inner.slice(name.length);
    let dflt: string | null = null;
    if (rest.startsWith("-")) dflt = rest.slice(1);
    else if (rest !== "") {
      c.error(
        c.loc(no, i + 1),
        `invalid environment variable reference '\${${inner}}': expected \${NAME} or \${NAME-default}`,
      );
      return { value: "", next: close + 1, split: false };
    }
    return { value: varValue(c, name, dflt, no, i + 1), next: close + 1, split };
  }
  const m = VAR_NAME.exec(raw.slice(i + 1));
  if (!m) return null;
  return { value: varValue(c, m[0], null, no, i + 1), next: i + 1 + m[0].length, split: false };
}

export function varValue(
  c: Cfg,
  name: string,
  dflt: string | null,
  no: number,
  col: number,
): string {
  if (name === ".LINE") return String(no);
  const v = c.env(name);
  if (v !== undefined) return v;
  if (dflt !== null) return dflt;
  c.warn(
    c.loc(no, col),
    `environment variable '${name}' is not set: it expands to an empty string`,
  );
  return "";
}

/** HAProxy expands environment variables in addresses even outside double quotes
 * (`bind :$PORT`, `server s1 ${HOST}:80`): the word with them expanded. */
export function expandAddressVars(c: Cfg, l: Line, w: Word): Word {
  if (w.processed || !w.text.includes("$")) return w;
  const raw = l.raw.slice(0, w.end);
  let text = "";
  let expanded = false;
  let i = w.col - 1;
  while (i < w.end) {
    if (raw[i] === "$") {
      const r = expandVar(c, raw, i, l.no);
      if (r) {
        text += r.value;
        i = r.next;
        expanded = true;
        continue;
      }
    }
    text += raw[i];
    i++;
  }
  return expanded ? { ...w, text, processed: true, expanded } : w;
}
