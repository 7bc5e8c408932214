// The corpus of real HAProxy files (tests/config/corpus, sources in SOURCES.md): whatever a file
// holds, checking it ends in a configuration or in FILE:LINE:COL messages, never in a crash or
// a stack trace; and the files wtproxy accepts today stay accepted.
import { ok as assert } from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/model.ts";
import { makePem, prepare } from "../../scripts/corpus_prepare.ts";

const DIR = "tests/config/corpus";
const names = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".cfg"))
  .sort();

async function check(name: string, pem: string): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "wtproxy-corpus-test-" });
  const prep = prepare(await Deno.readTextFile(`${DIR}/${name}`), { dir, pem });
  const saved = Object.keys(prep.env).map((k) => [k, Deno.env.get(k)] as const);
  for (const [k, v] of Object.entries(prep.env)) Deno.env.set(k, v);
  try {
    await loadConfigText(prep.text, name);
    return true;
  } catch (err) {
    assert(err instanceof ConfigError, `${name}: not a configuration error: ${err}`);
    for (const line of err.message.split("\n")) {
      assert(
        line.startsWith(`${name}:`) && /^[^:]+:\d+:\d+: (error|warning): \S/.test(line),
        `${name}: message not in FILE:LINE:COL form: ${line}`,
      );
      assert(!/\bat .+:\d+:\d+/.test(line), `${name}: stack trace in a message: ${line}`);
    }
    return false;
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("real corpus: every file is checked without a crash, messages name FILE:LINE:COL", async () => {
  assert(names.length >= 60, `corpus has ${names.length} files`);
  const pemDir = await Deno.makeTempDir();
  const pem = await makePem(pemDir);
  await Deno.remove(pemDir, { recursive: true });
  for (const name of names) await check(name, pem);
});

/** Files wtproxy accepts (scripts/corpus.ts, 3 Dec 2026): they must stay accepted. */
const ACCEPTED = [
  "0ne-zero__warpoxy.cfg",
  "0xnikhilsaini__socke.io-with-loadbalancer.cfg",
  "1999GersonMayamba__rabbitmq-cluster-docker.cfg",
  "1scotthp__swe-sports-websocket.cfg",
  "2600hz__kazoo-configs-haproxy.cfg",
  "28youth__docker-mysql-cluster.cfg",
  "2c9__swarm-pgsql-tests.cfg",
  "2vcps__crdb-demo-pure.cfg",
  "2winpowersoftware__realtime-gateway-reference.cfg",
  "404akhan__haproxy-docker.cfg",
  "4teamwork__supervisor-haproxy.cfg",
  "5-reborn-devs__oreno-turn-BE.cfg",
  "6qat__myshell.cfg",
  "7ZFG1__Docker-Swarm-RabbitMQ.cfg",
  "89berner__MongoAudit.cfg",
  "ABeloeil__haproxy-node-docker-container.cfg",
  "AKAlexsey__football_seasons.cfg",
  "AKSarav__haproxy-nodejs-redis.cfg",
  "ANT1OFF__bookface2.0.cfg",
  "ARQSW2__loadBalancing.cfg",
  "Abbosbek-cloud__haproxy.cfg",
  "AbdelhamidLarachi__Microservices-Archetecture.cfg",
  "AdamWiktor__analyzer.cfg",
  "AdeptJ__adeptj-runtime.cfg",
  "Aditya-Deshwal23__Self-Healing-Load-Balancer.cfg",
  "AfrikanMeals__africa-meals-infra.cfg",
  "AgentSystemLabs__orbital-js.cfg",
  "Ahmedhossam447__IssueTracker.cfg",
  "AirVantage__pointsman.cfg",
  "Aitthi__k3s-setup.cfg",
  "AjinkyaAmbadkar__MultiLingualChat-App.cfg",
  "Akahime__THUDistributedDatabase.cfg",
  "Akaronte__okd4.14-install.cfg",
  "AkashiSN__Server-Config.cfg",
  "AlanHuertaC__nestjs-monorepo-services.cfg",
  "Alars-ALIT__haproxy-consul.cfg",
  "AleSassi__reckon-k8s.cfg",
  "Aleks-Sharipov__otus_postgresql_2025_shaleks.cfg",
  "AleksandrLipovetskiy__HAProxy_Nginx.cfg",
  "AleksandrMalinovskiy__test-patroni.cfg",
  "AlexGavalas__ws-relay-lab.cfg",
  "AlexRamey__cs4501-site.cfg",
  "AlexanderShvaykin__dev-proxy.cfg",
  "Alexbeav__simple-lb-docker-lab.cfg",
  "AlexeySigida__SocialHub.cfg",
  "Almsst__sflt-haproxy-lab.cfg",
  "Alvaro-Sez__haproxy-redis-socket.io.cfg",
  "AnalogJ__docker-consul-template-haproxy.cfg",
  "AndrewGable__chatter.cfg",
  "Andrey540__highloadarch.cfg",
  "AndriiZil__haproxy-node-docker-load-balancer.cfg",
];

Deno.test("real corpus: the files wtproxy accepted stay accepted", async () => {
  const pemDir = await Deno.makeTempDir();
  const pem = await makePem(pemDir);
  await Deno.remove(pemDir, { recursive: true });
  const refused = [];
  for (const name of ACCEPTED) if (!(await check(name, pem))) refused.push(name);
  assert(refused.length === 0, `now refused: ${refused.join(", ")}`);
});

Deno.test("real corpus: the CLI check of a refused file exits 1 with messages only", async () => {
  const file = `${DIR}/3kho__haproxy-protection.cfg`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", "-c", "-f", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert(out.code === 1, `exit ${out.code}: ${text}`);
  for (const line of text.trim().split("\n")) {
    assert(line.startsWith(`${file}:`), `unexpected line: ${line}`);
  }
});
