// deploy/kubernetes/ as kubectl would see it: every manifest parses, names are unique per kind,
// and the cross-references hold: selectors match pod labels, the StatefulSet's serviceName is
// a headless Service, mounted ConfigMap keys exist, ports agree between Services, containers,
// probes and wtproxy's configuration, the SRV name in the configuration is the headless
// Service's, the ConfigMap's configuration passes wtproxy's own check, and the drain fits in
// terminationGracePeriodSeconds. Also the Dockerfile's paths and ports agree with them.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/model.ts";

const DIR = new URL("../../deploy/kubernetes/", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

// deno-lint-ignore no-explicit-any
type Obj = any;

function load(): Obj[] {
  const out: Obj[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    if (!e.name.endsWith(".yaml")) continue;
    const text = Deno.readTextFileSync(new URL(e.name, DIR));
    for (const doc of parseAllDocuments(text)) {
      assertEquals(doc.errors.map(String), [], e.name);
      const o = doc.toJS();
      if (o === null) continue;
      assert(o.apiVersion && o.kind && o.metadata?.name, `${e.name}: apiVersion, kind, name`);
      out.push({ ...o, file: e.name });
    }
  }
  return out;
}

const objects = load();
const of = (kind: string) => objects.filter((o) => o.kind === kind);
const byName = (kind: string, name: string) => of(kind).find((o) => o.metadata.name === name);
const workloads = () => [...of("Deployment"), ...of("StatefulSet")];
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The workload whose pods a selector picks (exactly one). */
function podsOf(selector: Record<string, string>, who: string): Obj {
  const found = workloads().filter((w) => matches(selector, w.spec.template.metadata.labels));
  assertEquals(found.length, 1, `${who}: selects ${found.length} workloads`);
  return found[0];
}

function containerPort(w: Obj, port: string | number): number {
  for (const c of w.spec.template.spec.containers) {
    for (const p of c.ports ?? []) {
      if (p.name === port || p.containerPort === port) return p.containerPort;
    }
  }
  throw new Error(`${w.metadata.name}: no container port ${port}`);
}

async function proxyConfig(): Promise<{ config: Config; warnings: string[] }> {
  const cm = byName("ConfigMap", "wtproxy");
  const { config } = await loadConfigText(cm.data["wtproxy.yaml"], "configmap/wtproxy.yaml");
  return { config, warnings: config.warnings.map((w) => w.message) };
}

Deno.test("kubernetes: every object parses, names are unique per kind", () => {
  const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  assertEquals(new Set(kinds).size, kinds.length, kinds.join(" "));
  for (const k of ["Deployment", "StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget"]) {
    assert(of(k).length > 0, `no ${k}`);
  }
});

Deno.test("kubernetes: selectors match pod labels", () => {
  for (const w of workloads()) {
    assert(
      matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels),
      `${w.kind}/${w.metadata.name}: selector does not match its own pods`,
    );
  }
  for (const s of of("Service")) podsOf(s.spec.selector, `Service/${s.metadata.name}`);
  for (const p of of("PodDisruptionBudget")) {
    podsOf(p.spec.selector.matchLabels, `PodDisruptionBudget/${p.metadata.name}`);
  }
  // Every workload is covered by a PodDisruptionBudget.
  for (const w of workloads()) {
    assert(
      of("PodDisruptionBudget").some((p) =>
        matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels)
      ),
      `${w.metadata.name} has no PodDisruptionBudget`,
    );
  }
});

Deno.test("kubernetes: Service ports and probes name container ports", () => {
  for (const s of of("Service")) {
    const w = podsOf(s.spec.selector, s.metadata.name);
    for (const p of s.spec.ports) containerPort(w, p.targetPort ?? p.port);
  }
  for (const w of workloads()) {
    for (const c of w.spec.template.spec.containers) {
      for (const probe of [c.readinessProbe, c.livenessProbe].filter(Boolean)) {
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
        containerPort(w, port);
      }
    }
  }
});

Deno.test("kubernetes: the StatefulSet's Service is headless and its SRV name is in wtproxy's config", async () => {
  const sts = of("StatefulSet")[0];
  const svc = byName("Service", sts.spec.serviceName);
  assert(svc, `no Service ${sts.spec.serviceName}`);
  assertEquals(svc.spec.clusterIP, "None");
  const { config } = await proxyConfig();
  const slots = config.backends.flatMap((b) => b.servers).filter((s) => s.dns?.srv);
  assert(slots.length > 0, "no SRV servers in the ConfigMap");
  const ns = svc.metadata.namespace ?? "default";
  const portNames = svc.spec.ports.map((p: Obj) => p.name);
  for (const s of slots) {
    const m = /^_([^.]+)\._tcp\.([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(s.dns!.fqdn);
    assert(m, s.dns!.fqdn);
    assert(portNames.includes(m[1]), `SRV port name ${m[1]} not in Service ${svc.metadata.name}`);
    assertEquals([m[2], m[3]], [svc.metadata.name, ns]);
  }
  // Enough slots for the replicas, and few enough pods for the prefix convention (wt0..wt9).
  assert(slots.length >= sts.spec.replicas);
  assert(sts.spec.replicas <= 10);
  assert(slots.every((s) => s.dns!.prefixFrom === "dns-label"));
  const wtArgs = JSON.stringify(sts.spec.template.spec.containers[0]);
  assert(wtArgs.includes(`--session-id-prefix=\\"$(hostname | tr -cd 'A-Za-z0-9')\\"`), wtArgs);
});

Deno.test("kubernetes: the ConfigMap passes wtproxy's check; mounts, ports and paths agree", async () => {
  const { config, warnings } = await proxyConfig();
  assertEquals(warnings, []);
  const d = byName("Deployment", "wtproxy");
  assertEquals(d.spec.replicas, 2);
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  // The file given with -f is a mounted key of the ConfigMap.
  const file = c.args[c.args.indexOf("-f") + 1];
  const mount = c.volumeMounts.find((m: Obj) => file.startsWith(m.mountPath + "/"));
  assert(mount, `${file} is not under a volumeMount`);
  const vol = pod.volumes.find((v: Obj) => v.name === mount.name);
  const cm = byName("ConfigMap", vol.configMap.name);
  assert(cm, `no ConfigMap ${vol.configMap.name}`);
  const rel = file.slice(mount.mountPath.length + 1);
  const item = (vol.configMap.items ?? []).find((i: Obj) => i.path === rel);
  const key = item ? item.key : rel;
  assert(key in cm.data, `ConfigMap ${cm.metadata.name} has no key ${key}`);
  // The frontend listens on the container port `http`; --admin on the port `admin`.
  assertEquals(config.frontends[0].binds.map((b) => b.port), [containerPort(d, "http")]);
  const admin = c.args[c.args.indexOf("--admin") + 1];
  assertEquals(Number(admin.split(":").pop()), containerPort(d, "admin"));
  assertEquals(c.readinessProbe.httpGet.path, "/healthz");
  // The admin token's Secret is one the README tells how to create.
  const ref = c.env.find((e: Obj) => e.name === "WTPROXY_ADMIN_TOKEN").valueFrom.secretKeyRef;
  const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
  assert(readme.includes(`kubectl create secret generic ${ref.name} --from-literal=${ref.key}=`));
  // SIGTERM: preStop, then wtproxy's 10 s drain, within the grace period.
  const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
  assert(preStop + 10 < pod.terminationGracePeriodSeconds);
});

Deno.test("Dockerfile: the config path, ports and health check the manifests use", () => {
  const df = Deno.readTextFileSync(new URL("Dockerfile", ROOT));
  const d = byName("Deployment", "wtproxy");
  const c = d.spec.template.spec.containers[0];
  assert(df.includes(`"-f", "${c.args[c.args.indexOf("-f") + 1]}"`), "config path");
  assert(df.includes(`"--admin", "0.0.0.0:${containerPort(d, "admin")}"`), "admin port");
  assert(df.includes(`EXPOSE ${containerPort(d, "http")} ${containerPort(d, "admin")}`));
  assert(df.includes(`"--healthz", "127.0.0.1:${containerPort(d, "admin")}"`));
  assert(/^RUN deno task compile/m.test(df), "built with the compile task");
  assert(/^USER nonroot/m.test(df));
  const task = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).tasks.compile;
  assert(task.includes("--output wtproxy"), task);
});
