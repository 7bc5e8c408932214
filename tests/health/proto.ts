// Small protocol peers for the checker tests: read what the checker sent, answer fixed bytes.

import { writeText } from "./helpers.ts";

/** Reads one chunk (what the checker sent first); "" on EOF. */
export async function readSome(conn: Deno.Conn): Promise<Uint8Array> {
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  return n === null ? new Uint8Array(0) : buf.slice(0, n);
}

export async function writeBytes(conn: Deno.Conn, b: Uint8Array | string): Promise<void> {
  if (typeof b === "string") return await writeText(conn, b);
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

/** Reads what the checker sends, then answers `reply` (the server stays open). */
export function replyWith(reply: Uint8Array | string, seen?: Uint8Array[]) {
  return async (conn: Deno.Conn) => {
    const got = await readSome(conn);
    seen?.push(got);
    await writeBytes(conn, reply);
  };
}

export function bytes(...parts: (number[] | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "string") { for (const c of p) out.push(c.charCodeAt(0)); }
    else out.push(...p);
  }
  return new Uint8Array(out);
}
