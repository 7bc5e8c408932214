// Just enough HTTP/1.1 response reading for the handshake: the response head (101 or not),
// and, when the backend refuses the upgrade, its body streamed to the client as it came
// (Content-Length, chunked, or until close).

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
function bodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * The body of a non-101 response as a stream, pulled at the client's pace. `done(ok)` is
 * called once with the termination state: "----" when the body ended, "SD--"/"sD--" when the
 * backend failed/timed out, "CD--" when the client went away; the caller closes the conn then.
 */
export function responseBody(
  bc: BufferedConn,
  head: ResponseHead,
  timeoutMs: number | null,
  done: (termination: string, bytes: number) => void,
): ReadableStream<Uint8Array> | null {
  let finished = false;
  let bytes = 0;
  const finish = (termination: string) => {
    if (finished) return;
    finished = true;
    done(termination, bytes);
  };
  if (bodyless(head.status)) {
    finish("----");
    return null;
  }
  const te = headerValue(head, "transfer-encoding");
  const chunked = te !== null && te.toLowerCase().split(",").pop()!.trim() === "chunked";
  const clText = headerValue(head, "content-length");
  let remaining = !chunked && clText !== null ? Number(clText) : -1;
  if (!chunked && clText !== null && !(Number.isSafeInteger(remaining) && remaining >= 0)) {
    throw new HeadError(`bad Content-Length ${clText}`);
  }
  if (remaining === 0) {
    finish("----");
    return null;
  }
  let chunkLeft = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (chunked) {
          if (chunkLeft === 0) {
            const line = await bc.readLine(timeoutMs);
            const size = parseInt(line.split(";")[0].trim(), 16);
            if (!Number.isFinite(size) || size < 0) throw new HeadError("bad chunk size");
            if (size === 0) {
              // Trailers (dropped) up to the empty line.
              while ((await bc.readLine(timeoutMs)) !== "");
              controller.close();
              finish("----");
              return;
            }
            chunkLeft = size;
          }
          const part = await bc.readSome(chunkLeft, timeoutMs);
          if (part === null) throw new HeadError("truncated chunked body");
          chunkLeft -= part.length;
          if (chunkLeft === 0) await bc.readLine(timeoutMs); // CRLF after the chunk data
          bytes += part.length;
          controller.enqueue(part);
          return;
        }
        const part = await bc.readSome(remaining >= 0 ? remaining : 64 * 1024, timeoutMs);
        if (part === null) {
          if (remaining > 0) throw new HeadError("truncated body");
          controller.close();
          finish("----");
          return;
        }
        bytes += part.length;
        controller.enqueue(part);
        if (remaining >= 0) {
          remaining -= part.length;
          if (remaining === 0) {
            controller.close();
            finish("----");
          }
        }
      } catch (err) {
        controller.error(err);
        finish(err instanceof ReadTimeout ? "sD--" : "SD--");
      }
    },
    cancel() {
      finish("CD--");
    },
  }, { highWaterMark: 0 });
}
