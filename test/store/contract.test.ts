/**
 * Runs the store contract suite that the package exports
 * (`session-guard/testing`) against every store of the package, with a view
 * into Redis for the Redis rows. Add a row here for a new store; never copy
 * the suite.
 */
import { Redis, type Cluster } from "ioredis";
import { MemoryStore } from "../../lib/stores/memory.js";
import { RedisStore } from "../../lib/stores/redis.js";
import { describeStoreContract } from "../../lib/testing/index.js";
import { clusterInspector, connectCluster, flushCluster, sharedCluster } from "../support/redis-cluster.js";
import { flushRedis, sharedRedis } from "../support/redis-server.js";
import { redisInspector } from "./redis-inspector.js";

let prefixes = 0;

/** A RedisStore under a fresh prefix on `client`, inspected through the suite's own connection; closing quits both. */
function openedRedisStore(client: Redis | Cluster, inspector: Redis | Cluster) {
  const prefix = `contract${++prefixes}:`;
  const store = new RedisStore({ client, prefix });
  return {
    store,
    inspect: redisInspector(inspector, prefix),
    async close() {
      await store.close();
      await client.quit();
      await inspector.quit();
    },
  };
}

describeStoreContract({
  name: "MemoryStore",
  async open() {
    const store = new MemoryStore();
    return { store, inspect: { held: async () => store.size }, close: () => store.close() };
  },
});

describeStoreContract({
  name: "RedisStore",
  async open() {
    const { url } = await sharedRedis();
    const inspector = new Redis(url, { maxRetriesPerRequest: 1 });
    // A clean server and an empty script cache for every case: each case
    // also proves the store loads its scripts itself (NOSCRIPT recovery).
    await flushRedis(inspector, { scripts: true });
    // Settings that cannot hang a request, as the store asks of a given client.
    const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, commandTimeout: 5000, maxRetriesPerRequest: 1 });
    await client.connect();
    return openedRedisStore(client, inspector);
  },
});

// The same store over an ioredis Cluster client on a real three-master
// Redis Cluster (all keys of a user in one hash slot).
describeStoreContract({
  name: "RedisStore on a Redis Cluster",
  async open() {
    const cluster = await sharedCluster();
    // The suite's own connection: single-key commands routed by slot, KEYS
    // and SCRIPT sent to every master (see clusterInspector).
    const inspector = clusterInspector(await connectCluster(cluster));
    await flushCluster(inspector, { scripts: true });
    const client = await connectCluster(cluster, { redisOptions: { commandTimeout: 5000 } });
    return openedRedisStore(client, inspector);
  },
});
