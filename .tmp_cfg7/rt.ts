import { loadConfigText } from "../src/config/load.ts";
import { parseHaproxy } from "../src/config/haproxy.ts";
import { toYaml } from "../src/config/to_yaml.ts";
import { ConfigError } from "../src/config/model.ts";
const f = Deno.args[0];
const text = Deno.readTextFileSync(f);
try {
  const a = await loadConfigText(text, f);
  for (const w of a.warnings) console.log("W", w.line, w.col, w.message.slice(0, 100));
  const y = toYaml(parseHaproxy(text, f).tree);
  const b = await loadConfigText(y, "x.yaml");
  const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v) => (k === "loc" || k === "file" || k === "warnings" || k === "format") ? undefined : v));
  console.log("equal:", JSON.stringify(strip(a.config)) === JSON.stringify(strip(b.config)));
} catch (e) {
  if (e instanceof ConfigError) console.log(e.message); else throw e;
}
