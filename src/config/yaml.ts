// YAML text -> located SrcNode tree (src/config/model.ts). Syntax errors and non-scalar keys
// come back as diagnostics with FILE:LINE:COL. Duplicate keys are left in the tree: the builder
// reports them for YAML and .cfg trees alike, naming the key and where it was first given.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node as YNode } from "yaml";
import type { Diagnostic, Loc, SrcEntry, SrcNode } from "./model.ts";

export interface ParseResult {
  tree: SrcNode;
  diagnostics: Diagnostic[];
}

/** Parses one YAML document (YAML 1.2 core schema: `yes`/`on` stay strings). */
export function parseYaml(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const diagnostics: Diagnostic[] = [];
  const locAt = (offset: number | undefined): Loc => {
    if (offset === undefined) return { file, line: 1, col: 1 };
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const error = (offset: number | undefined, message: string) =>
    diagnostics.push({ ...locAt(offset), severity: "error", message });

  for (const e of doc.errors) error(e.pos[0], yamlMessage(e.code, e.message));
  for (const w of doc.warnings) {
    diagnostics.push({ ...locAt(w.pos[0]), severity: "warning", message: w.message });
  }

  const convert = (node: unknown, fallback: Loc, depth: number): SrcNode => {
    if (depth > 64) {
      error(nodeOffset(node), "YAML nesting too deep (recursive alias?)");
      return { kind: "scalar", value: null, loc: fallback };
    }
    if (node === null || node === undefined) return { kind: "scalar", value: null, loc: fallback };
    if (isAlias(node)) {
      const target = node.resolve(doc as Document);
      if (!target) {
        error(nodeOffset(node), `unknown YAML alias *${node.source}`);
        return { kind: "scalar", value: null, loc: locAt(nodeOffset(node)) };
      }
      return convert(target, locAt(nodeOffset(node)), depth + 1);
    }
    const offset = nodeOffset(node);
    const loc = offset === undefined ? fallback : locAt(offset);
    if (isScalar(node)) {
      const v = node.value;
      let value: string | number | boolean | null;
      if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
        value = v;
      } else if (typeof v === "bigint") value = Number(v);
      else value = String(v);
      return { kind: "scalar", value, loc };
    }
    if (isSeq(node)) {
      return {
        kind: "seq",
        items: node.items.map((item) => convert(item, loc, depth + 1)),
        loc,
      };
    }
    if (isMap(node)) {
      const entries: SrcEntry[] = [];
      const merged: SrcEntry[] = [];
      for (const pair of node.items) {
        const keyNode = pair.key as YNode | null;
        const keyLoc = keyNode ? locAt(nodeOffset(keyNode)) : loc;
        if (keyNode && !isScalar(keyNode)) {
          error(nodeOffset(keyNode), "a key must be a plain word, not a list or a map");
          continue;
        }
        const key = keyNode && isScalar(keyNode) ? String(keyNode.value ?? "") : "";
        const value = convert(pair.value, keyLoc, depth + 1);
        // `<<: *anchor` merges the anchored map's keys (keys written here win).
        if (key === "<<" && keyNode && isScalar(keyNode) && keyNode.source === "<<") {
          const sources = value.kind === "seq" ? value.items : [value];
          for (const s of sources) {
            if (s.kind === "map") merged.push(...s.entries);
            else error(nodeOffset(keyNode), "`<<` must be followed by an alias of a map");
          }
          continue;
        }
        entries.push({ key, keyLoc, value });
      }
      for (const m of merged) {
        if (!entries.some((e) => e.key === m.key)) entries.push(m);
      }
      return { kind: "map", entries, loc };
    }
    error(nodeOffset(node), "unsupported YAML node");
    return { kind: "scalar", value: null, loc };
  };

  const start = { file, line: 1, col: 1 };
  const tree = doc.contents === null
    ? { kind: "map" as const, entries: [], loc: start }
    : convert(doc.contents, start, 0);
  return { tree, diagnostics };
}

function nodeOffset(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

/** yaml's messages, made a little friendlier for the common cases. */
function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key (each key may appear once in a map)";
    case "TAB_AS_INDENT":
      return "tab used for indentation (YAML needs spaces)";
    case "MULTIPLE_DOCS":
      return "more than one YAML document (`---`): put the whole configuration in one";
    default:
      return `YAML syntax error: ${first}`;
  }
}
