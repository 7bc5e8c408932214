// SrcNode tree -> YAML text (the .cfg -> YAML converter is this printer applied to the tree
// parseHaproxy returns). Comments carried by the tree (SrcEntry.comment, SrcNode.comment) are
// written as `#` lines just before what they belong to. Parsing the output with parseYaml gives
// back the same tree, locations aside.
import type { SrcEntry, SrcMap, SrcNode, SrcScalar } from "./model.ts";

/** Prints a tree as block-style YAML; small maps inside lists are written `{ k: v }`. */
export function toYaml(tree: SrcNode, header?: string): string {
  const out: string[] = [];
  if (header) comment(out, header, "");
  if (tree.comment) {
    comment(out, tree.comment, "");
    out.push("");
  }
  if (tree.kind === "map") {
    tree.entries.forEach((e, i) => {
      // a blank line between top-level sections, as in a hand-written file
      if (i > 0) out.push("");
      entry(out, e, "");
    });
  } else if (tree.kind === "seq") seq(out, tree, "");
  else out.push(scalar(tree));
  return out.join("\n") + "\n";
}

function comment(out: string[], text: string, indent: string) {
  for (const line of text.split("\n")) out.push(line === "" ? `${indent}#` : `${indent}# ${line}`);
}

function entry(out: string[], e: SrcEntry, indent: string) {
  const c = [e.comment, e.value.comment].filter(Boolean).join("\n");
  if (c) comment(out, c, indent);
  const k = key(e.key);
  const v = e.value;
  if (v.kind === "scalar") out.push(`${indent}${k}: ${scalar(v)}`);
  else if (v.kind === "map") {
    if (v.entries.length === 0) out.push(`${indent}${k}: {}`);
    else {
      out.push(`${indent}${k}:`);
      for (const x of v.entries) entry(out, x, indent + "  ");
    }
  } else {
    if (v.items.length === 0) out.push(`${indent}${k}: []`);
    else if (v.items.every((x) => x.kind === "scalar" && !x.comment)) {
      const flow = `[${v.items.map((x) => scalar(x as SrcScalar, true)).join(", ")}]`;
      if (indent.length + k.length + flow.length < 90) {
        out.push(`${indent}${k}: ${flow}`);
        return;
      }
      out.push(`${indent}${k}:`);
      seq(out, v, indent + "  ");
    } else {
      out.push(`${indent}${k}:`);
      seq(out, v, indent + "  ");
    }
  }
}

function seq(out: string[], s: { items: SrcNode[] }, indent: string) {
  for (const item of s.items) {
    if (item.comment) comment(out, item.comment, indent);
    if (item.kind === "scalar") out.push(`${indent}- ${scalar(item)}`);
    else if (item.kind === "map") {
      const flow = flowMap(item);
      if (flow !== null && indent.length + flow.length < 96) {
        out.push(`${indent}- ${flow}`);
        continue;
      }
      if (item.entries.length === 0) {
        out.push(`${indent}- {}`);
        continue;
      }
      const sub: string[] = [];
      for (const e of item.entries) entry(sub, e, indent + "  ");
      // the first line of the map goes after the dash (comments of the first entry stay above)
      const first = sub.findIndex((line) => !line.trimStart().startsWith("#"));
      for (let i = 0; i < first; i++) out.push(sub[i]);
      out.push(`${indent}- ${sub[first].slice(indent.length + 2)}`);
      out.push(...sub.slice(first + 1));
    } else {
      out.push(`${indent}-`);
      seq(out, item, indent + "  ");
    }
  }
}

function flowMap(m: SrcMap): string | null {
  if (m.entries.some((e) => e.value.kind !== "scalar" || e.comment || e.value.comment)) {
    return null;
  }
  return `{ ${
    m.entries.map((e) => `${key(e.key)}: ${scalar(e.value as SrcScalar, true)}`).join(", ")
  } }`;
}

const PLAIN_UNSAFE = /^[-?:,[\]{}#&*!|>'"%@`\s]|[:\s]$|: | #|^$/;
/** Control characters (and DEL) need the escapes of a double-quoted string. */
const hasControl = (v: string) => [...v].some((c) => c < " " || c === "\x7f");
const PLAIN_FLOW_UNSAFE = /[,[\]{}]/;
/** Words YAML (1.1 or 1.2) would read as something other than a string. */
const RESERVED =
  /^(?:true|false|yes|no|on|off|y|n|null|~|[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|0x[\da-fA-F]+|0o[0-7]+|\.inf|\.nan))$/i;

function scalar(s: SrcScalar, inFlow = false): string {
  const v = s.value;
  if (v === null) return "null";
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return str(v, inFlow);
}

function str(v: string, inFlow = false): string {
  if (
    PLAIN_UNSAFE.test(v) || hasControl(v) || RESERVED.test(v) ||
    (inFlow && PLAIN_FLOW_UNSAFE.test(v))
  ) {
    return JSON.stringify(v);
  }
  return v;
}

function key(k: string): string {
  // keys with a colon are quoted so `0.0.0.0:8181:` does not puzzle a reader
  return k.includes(":") ? JSON.stringify(k) : str(k, true);
}

/**
 * `wtproxy --to-yaml -f FILE`: prints the YAML equivalent of FILE (.cfg or YAML) on stdout,
 * its messages on stderr. Exit 0 when the file loads, 1 when it has errors (the YAML of a .cfg
 * file is still printed, refused lines left out as comments, so it can be fixed in either
 * form), 2 without -f.
 */
export async function convertCommand(file: string | undefined): Promise<number> {
  if (typeof file !== "string" || file === "") {
    console.error("wtproxy: --to-yaml needs the file to convert: wtproxy --to-yaml -f FILE");
    return 2;
  }
  const { formatDiagnostic } = await import("./model.ts");
  const { detectFormat, loadConfigText } = await import("./load.ts");
  const { parseHaproxy } = await import("./haproxy.ts");
  const { parseYaml } = await import("./yaml.ts");
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    console.error(`${file}:1:1: error: cannot read the file: ${(err as Error).message}`);
    return 1;
  }
  const format = detectFormat(text, file);
  const parsed = format === "cfg" ? parseHaproxy(text, file) : parseYaml(text, file);
  // A YAML file with a syntax error has no tree worth printing; a .cfg file always has one:
  // its refused lines are left out, as notes, so it can be fixed in either form.
  const syntaxErrors = parsed.diagnostics.filter((d) => d.severity === "error");
  if (format !== "cfg" && syntaxErrors.length) {
    for (
      const d of [
        ...syntaxErrors,
        ...parsed.diagnostics.filter((d) => d.severity !== "error"),
      ]
    ) {
      console.error(formatDiagnostic(d));
    }
    return 1;
  }
  const base = file.split("/").pop();
  console.log(
    toYaml(parsed.tree, `wtproxy configuration converted from ${base} (wtproxy --to-yaml)`)
      .trimEnd(),
  );
  // The model checks (references, ranges) apply to the YAML just the same: report them here.
  try {
    const { warnings } = await loadConfigText(text, file, format);
    for (const d of warnings) console.error(formatDiagnostic(d));
    return 0;
  } catch (err) {
    const diags = (err as { diagnostics?: Parameters<typeof formatDiagnostic>[0][] }).diagnostics;
    if (!diags) throw err;
    for (const d of diags) console.error(formatDiagnostic(d));
    return 1;
  }
}
