// Splits ACL and condition text into words the way HAProxy's config parser does: spaces
// separate, '...' and "..." quote, backslash escapes a space, quote, `#`, `$` or itself. Each word keeps its
// offset in the text so diagnostics can point at its column.

export interface Word {
  text: string;
  /** Offset of the word's first character in the source text (0-based). */
  offset: number;
}

/** A problem found while compiling, positioned by offset in the text being compiled. */
export interface Problem {
  severity: "error" | "warning";
  message: string;
  offset: number;
}

export class WordsError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

const ESCAPABLE = new Set([" ", "\t", "\\", "#", "'", '"', "$"]);

export function splitWords(s: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
    if (i >= s.length) break;
    const offset = i;
    let text = "";
    while (i < s.length && s[i] !== " " && s[i] !== "\t") {
      const c = s[i];
      if (c === "\\" && i + 1 < s.length) {
        // HAProxy's parser: \<space> \\ \# \' \" \$ escape; any other backslash is kept
        // (so a regex's `\.` stays `\.`).
        const next = s[i + 1];
        text += ESCAPABLE.has(next) ? next : c + next;
        i += 2;
      } else if (c === '"' || c === "'") {
        const close = s.indexOf(c, i + 1);
        if (close === -1) throw new WordsError(`unterminated quote ${c}`, i);
        text += s.slice(i + 1, close);
        i = close + 1;
      } else {
        text += c;
        i++;
      }
    }
    words.push({ text, offset });
  }
  return words;
}
