// Messages about a .cfg file speak HAProxy's words: the model checks name places by their YAML
// path (`backends.app.retries: ...`), which a .cfg author never wrote. For a .cfg file the
// path is replaced by the directive as written on that line (`'retries many': ...`,
// `'bind 0.0.0.0:$PORT': ...`), and YAML advice by the matching HAProxy keyword.
import type { Diagnostic } from "../model.ts";

const PATH = /^((?:global|defaults|frontends|backends|admin)(?:[.[][^\s]*)?): /;

/** YAML spellings in advice -> the HAProxy keyword. */
const ADVICE: [RegExp, string][] = [
  [/\(set timeouts\.(\S+) here or in defaults;/, "(write 'timeout $1' in it or in 'defaults';"],
  [
    /\(set them under timeouts here or in defaults;/,
    "(write 'timeout' lines in it or in 'defaults';",
  ],
  [/without options\.httpchk/, "without 'option httpchk'"],
  [/\(remove check: /, "(remove 'check': "],
  [/\(add check: true to it\)/, "(add 'check' to it)"],
  [
    /\(add a `frontends:` section with a `bind` address\)/,
    "(add a 'frontend' section with a 'bind' line)",
  ],
  [/\btimeouts\.([a-z-]+)/g, "'timeout $1'"],
  [/\boptions\.([a-z-]+)/g, "'option $1'"],
];

/** Rewrites the messages about `file` (a .cfg file whose text is `text`) in place. */
export function cfgWords(diagnostics: Diagnostic[], file: string, text: string): void {
  const lines = text.split("\n");
  for (const d of diagnostics) {
    if (d.file !== file) continue;
    let m = d.message;
    const p = PATH.exec(m);
    const line = lines[d.line - 1];
    if (p && line !== undefined) {
      const directive = withoutComment(line).trim().replace(/\s+/g, " ");
      if (directive !== "") m = `'${directive}' : ${m.slice(p[0].length)}`;
    }
    for (const [re, to] of ADVICE) m = m.replace(re, to);
    d.message = m;
  }
}

/** The line without its comment (a `#` outside quotes and not escaped). */
function withoutComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "\\" && quote !== "'") i++;
    else if (quote) {
      if (ch === quote) quote = "";
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "#") return line.slice(0, i);
  }
  return line;
}
