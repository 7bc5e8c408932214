import { loadConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/config/model.ts";
try {
  const r = await loadConfig(Deno.args[0]);
  console.log(JSON.stringify(r.config, null, 1).slice(0, 3000));
  for (const w of r.warnings) console.log("W", w);
} catch (e) { if (e instanceof ConfigError) console.log(e.message); else throw e; }
