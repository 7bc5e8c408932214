// A sample expression as HAProxy writes it: `FETCH[(ARGS)][,CONV[(ARGS)]]...`, e.g.
// `req.hdr(host),lower,map(/etc/haproxy/hosts.map,default)`. Commas inside parentheses belong
// to the arguments; each part keeps its offset in the text so messages point at its column.

export interface SampleCall {
  name: string;
  args: string[];
  /** Offset of the name, and of each argument, in the expression text. */
  offset: number;
  argOffsets: number[];
}

export interface SampleExpr {
  fetch: SampleCall;
  converters: SampleCall[];
}

export class SampleSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "SampleSyntaxError";
  }
}

const NAME = /[A-Za-z0-9_.-]/;

/** Parses `text`; `base` is added to every offset (the expression's place in a larger text). */
export function parseSampleExpr(text: string, base = 0): SampleExpr {
  const calls: SampleCall[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    while (i < text.length && NAME.test(text[i])) i++;
    const name = text.slice(start, i);
    if (name === "") {
      const what = calls.length === 0 ? "a fetch name" : "a converter name after ','";
      throw new SampleSyntaxError(
        i < text.length ? `expected ${what}, found '${text[i]}'` : `expected ${what}`,
        base + i,
      );
    }
    const args: string[] = [];
    const argOffsets: number[] = [];
    if (text[i] === "(") {
      const close = text.indexOf(")", i + 1);
      if (close < 0) throw new SampleSyntaxError(`missing ')' after '${name}('`, base + i);
      let off = i + 1;
      const inner = text.slice(i + 1, close);
      if (inner !== "") {
        for (const a of inner.split(",")) {
          args.push(a);
          argOffsets.push(base + off);
          off += a.length + 1;
        }
      }
      i = close + 1;
    }
    calls.push({ name, args, offset: base + start, argOffsets });
    if (i >= text.length) break;
    if (text[i] !== ",") {
      throw new SampleSyntaxError(`unexpected '${text[i]}' after '${name}'`, base + i);
    }
    i++;
  }
  return { fetch: calls[0], converters: calls.slice(1) };
}
