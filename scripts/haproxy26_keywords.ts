// Generates src/config/haproxy/families/haproxy26_keywords.ts from HAProxy 2.6's own
// configuration manual (Debian's /usr/share/doc/haproxy/configuration.txt.gz): every keyword
// of the global section, proxies, bind lines and server lines, with the first sentence of its
// description, so that wtproxy never calls a real HAProxy keyword "unknown".
//   deno run --allow-read --allow-write scripts/haproxy26_keywords.ts [configuration.txt.gz]
const src = Deno.args[0] ?? "/usr/share/doc/haproxy/configuration.txt.gz";
const OUT = new URL("../src/config/haproxy/families/haproxy26_keywords.json", import.meta.url);

const gz = await Deno.readFile(src);
const text = await new Response(
  new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
).text();
const lines = text.split("\n");

/** Line index of a numbered heading ("4.2. Alphabetically sorted keywords reference"). */
function heading(title: string): number {
  const i = lines.findIndex((l) => l.startsWith(title));
  if (i < 0) throw new Error(`heading not found: ${title}`);
  return i;
}

interface Entry {
  what: string;
  /** The keyword takes an argument (`ca-file <file>`), for bind/server parameters. */
  arg: boolean;
}

/** Keyword entries between two headings: lines at column 0, then an indented description. */
function entries(from: string, to: string, key: (words: string[]) => string) {
  const out: Record<string, Entry> = {};
  const end = heading(to);
  for (let i = heading(from) + 2; i < end; i++) {
    const l = lines[i];
    if (!/^[a-z0-9]/.test(l) || /^\d+\.\d/.test(l)) continue;
    if (lines[i - 1] !== "" && /^[a-z0-9]/.test(lines[i - 1])) continue; // a second form
    const words = l.trim().split(/\s+/);
    const k = key(words);
    if (!/^[a-z0-9][a-z0-9._-]*( [a-z0-9._-]+)?$/.test(k) || k in out) continue;
    const kwWords = k.split(" ").length;
    const next = words[kwWords];
    // `ca-file <file>` takes a value; `ssl-min-ver [ SSLv3 | TLSv1.0 ]` too (a choice)
    const arg = next !== undefined &&
      (!/^[[{(]/.test(next) || (next === "[" && words.slice(kwWords).includes("|")));
    // skip further forms of the entry, then read the first paragraph of its description
    let j = i + 1;
    while (j < end && /^[a-z0-9]/.test(lines[j])) j++;
    const para: string[] = [];
    for (; j < end && lines[j].startsWith("  ") && lines[j].trim() !== ""; j++) {
      if (/^\s*(May be used in|Arguments|Example)/.test(lines[j])) break;
      para.push(lines[j].trim());
    }
    const what = firstSentence(para.join(" "));
    if (!what) continue;
    out[k] = { what, arg };
    // the other forms of the entry (`hdr(...)` after `req.hdr(...)`) say the same
    for (let f = i + 1; f < end && /^[a-z0-9]/.test(lines[f]); f++) {
      const k2 = key(lines[f].trim().split(/\s+/));
      if (/^[a-z0-9][a-z0-9._-]*( [a-z0-9._-]+)?$/.test(k2) && !(k2 in out)) {
        out[k2] = { what, arg };
      }
    }
  }
  return out;
}

function firstSentence(s: string): string {
  // the first sentence that says what it does (not "only available when OpenSSL was built in")
  const sentences = s.split(/(?<=[a-z0-9)"'])\.\s+/);
  const useful = sentences.find((x) => !/only available (when|if)|only supported/i.test(x)) ??
    sentences[0];
  let t = useful.replace(/\.$/, "").replace(/\s+/g, " ").trim();
  if (t.length > 140) t = t.slice(0, t.lastIndexOf(" ", 137)) + "...";
  return t;
}

const first = (w: string[]) => w[0];
const proxyKey = (w: string[]) =>
  ["option", "timeout", "no"].includes(w[0]) && w[1] ? `${w[0]} ${w[1]}` : w[0];

const global = {
  ...entries("3.1. Process management", "3.2. Performance tuning", first),
  ...entries("3.2. Performance tuning", "3.3. Debugging", first),
  ...entries("3.3. Debugging", "3.4. Userlists", first),
};
const proxy = entries("4.2. Alphabetically sorted", "5. Bind and server options", proxyKey);
const bind = entries("5.1. Bind options", "5.2. Server and default-server", first);
const server = entries("5.2. Server and default-server", "5.3. Server IP address", first);
// `req.hdr([<name>[,<occ>]]) : string`: the name before "(" or " :"
const fetchKey = (w: string[]) => w[0].replace(/\(.*$/, "").replace(/:$/, "");
const fetches = entries("7.3.2. Fetching samples from internal", "7.4. Pre-defined ACLs", fetchKey);

const sorted = <T>(t: Record<string, Entry>, value: (e: Entry) => T): Record<string, T> =>
  Object.fromEntries(Object.keys(t).sort().map((k) => [k, value(t[k])]));
const what = (e: Entry) => e.what;
const withArg = (e: Entry) => ({ what: e.what, arg: e.arg });

// Read by src/config/haproxy/families/haproxy26_keywords.ts (which gives it its types).
const out = JSON.stringify(
  {
    global: sorted(global, what),
    proxy: sorted(proxy, what),
    bind: sorted(bind, withArg),
    server: sorted(server, withArg),
    fetch: sorted(fetches, what),
  },
  null,
  2,
) + "\n";
await Deno.writeTextFile(OUT, out);
console.log(
  `global ${Object.keys(global).length}, proxy ${Object.keys(proxy).length}, ` +
    `bind ${Object.keys(bind).length}, server ${Object.keys(server).length}, ` +
    `fetches ${Object.keys(fetches).length} -> ${OUT.pathname}`,
);
