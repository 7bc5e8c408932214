// The list of balance policies: a new one is a file that registers itself plus one import.
import "./roundrobin.ts";
import "./static_rr.ts";
import "./leastconn.ts";
import "./first.ts";
import "./source.ts";
import "./uri.ts";
import "./url_param.ts";
import "./random.ts";
import "./sessions.ts";
