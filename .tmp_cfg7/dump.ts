import { parseHaproxy } from "../src/config/haproxy.ts";
import { toYaml } from "../src/config/to_yaml.ts";
import { formatDiagnostic } from "../src/config/model.ts";
const f = Deno.args[0];
const r = parseHaproxy(Deno.readTextFileSync(f), f, { env: (n) => ({ LISTEN_ADDR: "127.0.0.1:18090", CLIENT_TIMEOUT: "20s", APP_HOST: "127.0.0.1" } as Record<string, string>)[n] });
for (const d of r.diagnostics) console.log(formatDiagnostic(d));
console.log(toYaml(r.tree));
