// A real DNS server for the discovery tests: dnsmasq on 127.0.0.1 and an ephemeral port, with
// A/AAAA records from an --addn-hosts file (re-read on SIGHUP) and SRV records from a
// --conf-file (dnsmasq reads its configuration only at start: an SRV change restarts it on the
// same port). No upstream, no /etc/hosts, no cache.

export const DNSMASQ = "/usr/sbin/dnsmasq";

export interface Records {
  /** name -> addresses (IPv4 or IPv6). */
  a?: Record<string, string[]>;
  /** SRV name -> [target, port][]. */
  srv?: Record<string, [string, number][]>;
}

/** A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both). */
function freePort(): number {
  for (let i = 0;; i++) {
    const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (s.addr as Deno.NetAddr).port;
    s.close();
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (i >= 20) throw err;
    }
  }
}

export class Dnsmasq {
  private proc: Deno.ChildProcess | null = null;
  private paused = false;
  private generation = 0;
  private srvText = "";

  private constructor(readonly port: number, readonly dir: string) {}

  static async start(records: Records = {}): Promise<Dnsmasq> {
    const dir = await Deno.makeTempDir({ prefix: "wtproxy-dns-" });
    await Deno.chmod(dir, 0o755); // dnsmasq may drop privileges before reading the files
    for (let i = 0;; i++) {
      const d = new Dnsmasq(freePort(), dir);
      try {
        await d.set(records);
        return d;
      } catch (err) {
        await d.stop(false);
        if (i >= 3) {
          await Deno.remove(dir, { recursive: true });
          throw err;
        }
      }
    }
  }

  /** Replaces every record; returns once dnsmasq answers with the new ones. */
  async set(records: Records): Promise<void> {
    this.generation++;
    const hosts = [`127.0.0.1 gen-${this.generation}.sentinel.test`];
    for (const [name, addrs] of Object.entries(records.a ?? {})) {
      for (const a of addrs) hosts.push(`${a} ${name}`);
    }
    await Deno.writeTextFile(`${this.dir}/hosts`, hosts.join("\n") + "\n");
    const srv = Object.entries(records.srv ?? {})
      .flatMap(([name, list]) => list.map(([t, p]) => `srv-host=${name},${t},${p}`))
      .join("\n") + "\n";
    if (srv !== this.srvText || !this.proc) {
      this.srvText = srv;
      await Deno.writeTextFile(`${this.dir}/srv.conf`, srv);
      await this.restart();
    } else {
      this.proc.kill("SIGHUP");
    }
    await this.waitFor(`gen-${this.generation}.sentinel.test`);
  }

  /**
   * The nameserver stops answering (queries time out) until up(). It is paused, not killed, so
   * that it keeps its port: a test running in parallel could take a released port meanwhile.
   */
  down(): void {
    this.proc?.kill("SIGSTOP");
    this.paused = true;
  }

  async up(): Promise<void> {
    if (this.paused && this.proc) this.proc.kill("SIGCONT");
    else await this.restart();
    this.paused = false;
    await this.waitFor(`gen-${this.generation}.sentinel.test`);
  }

  async stop(removeDir = true): Promise<void> {
    await this.kill();
    if (removeDir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  private async restart(): Promise<void> {
    await this.kill();
    this.proc = new Deno.Command(DNSMASQ, {
      args: [
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        `--port=${this.port}`,
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--pid-file=",
        "--user=root",
        "--cache-size=0",
        `--addn-hosts=${this.dir}/hosts`,
        `--conf-file=${this.dir}/srv.conf`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  private async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p) return;
    try {
      if (this.paused) p.kill("SIGCONT");
      this.paused = false;
      p.kill("SIGTERM");
    } catch { /* already gone */ }
    await p.status;
  }

  /** Waits (bounded) until `name` resolves. */
  private async waitFor(name: string): Promise<void> {
    const until = Date.now() + 5000;
    for (;;) {
      try {
        await Deno.resolveDns(name, "A", {
          nameServer: { ipAddr: "127.0.0.1", port: this.port },
          signal: AbortSignal.timeout(300),
        });
        return;
      } catch (err) {
        if (Date.now() > until) throw new Error(`dnsmasq did not answer ${name}: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
