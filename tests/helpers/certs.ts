// Test certificates made with openssl in a temporary directory: a test CA, ECDSA P-256 leaf
// certificates signed by it (names and IPs chosen by the test), an expired one, and files
// in HAProxy's shape (chain + key in one PEM) or with the key beside.

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM text), for clients. */
  caPem: string;
  caFile: string;
  /**
   * Issues a certificate for `names` (DNS or IP): returns the paths of the combined PEM
   * (certificate + key), the certificate alone and the key alone.
   */
  issue(
    base: string,
    names: string[],
    opts?: { days?: number },
  ): Promise<{ pem: string; crt: string; key: string }>;
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export async function makeCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "wtproxy-certs-" });
  await openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-subj",
      "/CN=wtproxy test CA",
      "-days",
      "2",
    ],
    dir,
  );
  let serial = 1;
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
    async issue(base, names, opts = {}) {
      const san = names.map((n) => /^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`).join(",");
      await Deno.writeTextFile(`${dir}/${base}.ext`, `subjectAltName=${san}\n`);
      await openssl(
        ["req", ...EC, "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${names[0]}`],
        dir,
      );
      await openssl(
        [
          "x509",
          "-req",
          "-in",
          `${base}.csr`,
          "-CA",
          "ca.pem",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(serial++),
          "-out",
          `${base}.crt`,
          "-days",
          String(opts.days ?? 2),
          "-extfile",
          `${base}.ext`,
        ],
        dir,
      );
      const crt = await Deno.readTextFile(`${dir}/${base}.crt`);
      const key = await Deno.readTextFile(`${dir}/${base}.key`);
      await Deno.writeTextFile(`${dir}/${base}.pem`, crt + key);
      return { pem: `${dir}/${base}.pem`, crt: `${dir}/${base}.crt`, key: `${dir}/${base}.key` };
    },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** curl with the given arguments; stdout, stderr and the exit code. */
export async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command("curl", { args: ["-sS", "-m", "10", ...args] }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}
