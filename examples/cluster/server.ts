/**
 * The example app (`../basic/app.ts`) on a Redis Cluster: the same devices
 * page, with `RedisStore` over an ioredis `Cluster` client set up as
 * `docs/failover.md` recommends. See `README.md` here for starting a local
 * Cluster.
 *
 *   REDIS_CLUSTER=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002 npm run example:cluster
 *
 * Environment: REDIS_CLUSTER (seed nodes, `host:port` separated by commas;
 * required), and the app's own (see `../basic/app.ts`).
 */
import { Cluster } from "ioredis";
import { RedisStore } from "../../lib/index.js";
import { serveExample } from "../basic/app.js";

/** The seed nodes of REDIS_CLUSTER, or an exit with a message saying what is wrong. */
function seedNodes(value: string | undefined): Array<{ host: string; port: number }> {
  const nodes = (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const at = entry.lastIndexOf(":");
      const port = Number(entry.slice(at + 1));
      return { host: entry.slice(0, at), port, entry };
    });
  const bad = nodes.find((n) => n.host === "" || !Number.isInteger(n.port) || n.port < 1 || n.port > 65_535);
  if (nodes.length === 0 || bad) {
    console.error(
      `REDIS_CLUSTER must list the Cluster's nodes as host:port separated by commas, e.g. 127.0.0.1:7000,127.0.0.1:7001` +
        (bad ? ` (not a host:port: ${JSON.stringify(bad.entry)})` : ""),
    );
    process.exit(2);
  }
  return nodes.map(({ host, port }) => ({ host, port }));
}

const nodes = seedNodes(process.env.REDIS_CLUSTER);
const cluster = new Cluster(nodes, {
  scaleReads: "master", // never read a session from a lagging replica
  enableOfflineQueue: false, // fail fast (503) while a slot has no master, never queue
  redisOptions: { commandTimeout: 1000 },
  // No enableAutoPipelining on a Cluster: a batched command's MOVED is not followed.
});
cluster.on("error", (err: Error) => console.error(`Redis Cluster: ${err.message}`));
// Without an offline queue nothing may be sent before the slot map is loaded.
cluster.once("ready", () =>
  serveExample({
    store: new RedisStore({ client: cluster }),
    name: `RedisStore on a Redis Cluster, seeds ${nodes.map((n) => `${n.host}:${n.port}`).join(",")}`,
    close: () => cluster.quit(),
  }),
);
