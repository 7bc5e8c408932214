// Just enough HTTP/1.1 response reading for the handshake: the response head (101 or not),
// and, when the backend refuses the upgrade, its body copied to the client exchange as it
// comes (Content-Length, chunked, or until close), at the client's pace.

import { HeadError, headerValue, parseResponseHead, type ResponseHead } from "./handshake.ts";

/** Raised when a read does not complete within its timeout. */
export class ReadTimeout extends Error {
  constructor() {
    super("read timed out");
    this.name = "ReadTimeout";
  }
}

const MAX_HEAD = 64 * 1024;
/** Header bytes are octets: true latin-1 (TextDecoder("latin1") is windows-1252, whose
 * characters beyond U+00FF Headers would reject). */
const latin1 = {
  decode(b: Uint8Array): string {
    let s = "";
    for (let i = 0; i < b.length; i += 4096) {
      s += String.fromCharCode.apply(
        null,
        b.subarray(i, Math.min(b.length, i + 4096)) as unknown as number[],
      );
    }
    return s;
  },
};

/** A Deno.Conn with a read-ahead buffer (bytes read past what was consumed). */
export class BufferedConn {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(readonly conn: Deno.Conn) {}

  /** Bytes already read from the socket and not consumed (e.g. first frames after a 101). */
  takeBuffered(): Uint8Array {
    const b = this.buf;
    this.buf = new Uint8Array(0);
    return b;
  }

  /** Reads more bytes; null at EOF. `timeoutMs` null = wait forever. */
  async fill(timeoutMs: number | null, size = 4096): Promise<boolean> {
    const chunk = new Uint8Array(size);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let n: number | null;
    try {
      const read = this.conn.read(chunk);
      if (timeoutMs === null) n = await read;
      else {
        n = await Promise.race([
          read,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ReadTimeout()), timeoutMs);
          }),
        ]);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    if (n === null) return false;
    const joined = new Uint8Array(this.buf.length + n);
    joined.set(this.buf);
    joined.set(chunk.subarray(0, n), this.buf.length);
    this.buf = joined;
    return true;
  }

  /** Reads a response head; throws HeadError (malformed, too big, EOF) or ReadTimeout. */
  async readHead(timeoutMs: number | null): Promise<ResponseHead> {
    let scanFrom = 0;
    while (true) {
      const b = this.buf;
      for (let i = Math.max(0, scanFrom - 3); i + 3 < b.length; i++) {
        if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) {
          const head = parseResponseHead(latin1.decode(b.subarray(0, i)), i + 4);
          this.buf = b.subarray(i + 4);
          return head;
        }
      }
      scanFrom = b.length;
      if (b.length > MAX_HEAD) throw new HeadError("response head larger than 64 KB");
      if (!(await this.fill(timeoutMs))) {
        throw new HeadError(
          b.length === 0 ? "connection closed without a response" : "truncated response head",
        );
      }
    }
  }

  /** Reads up to a CRLF (chunk-size lines); throws HeadError at EOF. */
  async readLine(timeoutMs: number | null): Promise<string> {
    while (true) {
      const b = this.buf;
      for (let i = 0; i + 1 < b.length; i++) {
        if (b[i] === 13 && b[i + 1] === 10) {
          this.buf = b.subarray(i + 2);
          return latin1.decode(b.subarray(0, i));
        }
      }
      if (b.length > 8192) throw new HeadError("chunk line too long");
      if (!(await this.fill(timeoutMs))) throw new HeadError("truncated chunked body");
    }
  }

  /** Up to `max` bytes (at least 1), or null at EOF. */
  async readSome(max: number, timeoutMs: number | null): Promise<Uint8Array | null> {
    if (this.buf.length === 0 && !(await this.fill(timeoutMs, Math.min(max, 64 * 1024)))) {
      return null;
    }
    const n = Math.min(max, this.buf.length);
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** True when a response to GET with this status has no body. */
export function bodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** How a non-101 answer's body is delimited on the backend side. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** The body framing of a refusal; throws HeadError on a bad Content-Length. */
export function bodyFraming(head: ResponseHead): BodyFraming {
  if (bodyless(head.status)) return { kind: "none" };
  const te = headerValue(head, "transfer-encoding");
  if (te !== null && te.toLowerCase().split(",").pop()!.trim() === "chunked") {
    return { kind: "chunked" };
  }
  const cl = headerValue(head, "content-length");
  if (cl === null) return { kind: "close" };
  const n = Number(cl.trim());
  if (!/^\s*\d+\s*$/.test(cl) || !Number.isSafeInteger(n)) {
    throw new HeadError(`bad Content-Length ${cl}`);
  }
  return { kind: "length", length: n };
}

/** Where relayed body bytes go (ClientExchange.write). */
export interface BodySink {
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * Copies a refusal's body from the backend to `sink` (de-chunked: the client side frames it
 * again). Resolves with the termination state ("----" when the body ended, "SD--"/"sD--" when
 * the backend failed/timed out, "CD--"/"cD--" when the client went away/timed out) and the
 * payload bytes relayed. Never rejects.
 */
export async function relayBody(
  bc: BufferedConn,
  framing: BodyFraming,
  timeoutMs: number | null,
  sink: BodySink,
): Promise<{ termination: string; bytes: number }> {
  let bytes = 0;
  const put = async (part: Uint8Array) => {
    try {
      await sink.write(part);
    } catch (err) {
      throw new ClientFailure(err instanceof Error && err.name === "ClientTimeout");
    }
    bytes += part.length;
  };
  try {
    switch (framing.kind) {
      case "none":
        break;
      case "length": {
        let remaining = framing.length;
        while (remaining > 0) {
          const part = await bc.readSome(Math.min(remaining, 64 * 1024), timeoutMs);
          if (part === null) throw new HeadError("truncated body");
          remaining -= part.length;
          await put(part);
        }
        break;
      }
      case "close":
        for (;;) {
          const part = await bc.readSome(64 * 1024, timeoutMs);
          if (part === null) break;
          await put(part);
        }
        break;
      case "chunked":
        for (;;) {
          const line = await bc.readLine(timeoutMs);
          const size = parseInt(line.split(";")[0].trim(), 16);
          if (!Number.isFinite(size) || size < 0) throw new HeadError("bad chunk size");
          if (size === 0) {
            // Trailers (dropped) up to the empty line.
            while ((await bc.readLine(timeoutMs)) !== "");
            break;
          }
          let left = size;
          while (left > 0) {
            const part = await bc.readSome(Math.min(left, 64 * 1024), timeoutMs);
            if (part === null) throw new HeadError("truncated chunked body");
            left -= part.length;
            await put(part);
          }
          await bc.readLine(timeoutMs); // CRLF after the chunk data
        }
        break;
    }
    return { termination: "----", bytes };
  } catch (err) {
    if (err instanceof ClientFailure) return { termination: err.timeout ? "cD--" : "CD--", bytes };
    return { termination: err instanceof ReadTimeout ? "sD--" : "SD--", bytes };
  }
}

class ClientFailure extends Error {
  constructor(readonly timeout: boolean) {
    super("client write failed");
  }
}
