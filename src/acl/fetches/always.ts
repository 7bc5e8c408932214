// `always_true` / `always_false`: constant booleans (HAProxy's TRUE and FALSE ACLs use them).
import { fetches } from "../types.ts";

fetches.set("always_true", { type: "bool", minArgs: 0, maxArgs: 0, compile: () => () => true });
fetches.set("always_false", { type: "bool", minArgs: 0, maxArgs: 0, compile: () => () => false });
