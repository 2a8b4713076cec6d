/**
 * Runs the one store contract suite (`contract.ts`) against every store.
 * Add a row here for a new store; never copy the suite.
 */
import { Redis } from "ioredis";
import { MemoryStore } from "../../lib/stores/memory.js";
import { RedisStore } from "../../lib/stores/redis.js";
import { clusterInspector, connectCluster, flushCluster, sharedCluster } from "../support/redis-cluster.js";
import { flushRedis, sharedRedis } from "../support/redis-server.js";
import { describeStoreContract, type StoreFactory } from "./contract.js";

let prefixes = 0;

const stores: StoreFactory[] = [
  {
    name: "MemoryStore",
    redis: false,
    async open() {
      const store = new MemoryStore();
      return {
        store,
        held: async () => store.size,
        close: () => store.close(),
      };
    },
  },
  {
    name: "RedisStore",
    redis: true,
    async open() {
      const { url } = await sharedRedis();
      const inspector = new Redis(url, { maxRetriesPerRequest: 1 });
      // A clean server and an empty script cache for every case: each case
      // also proves the store loads its scripts itself (NOSCRIPT recovery).
      await flushRedis(inspector, { scripts: true });
      // Settings that cannot hang a request, as the store asks of a given client.
      const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, commandTimeout: 5000, maxRetriesPerRequest: 1 });
      await client.connect();
      const prefix = `contract${++prefixes}:`;
      const store = new RedisStore({ client, prefix });
      return {
        store,
        redis: { url, client: inspector, prefix },
        held: async () => (await inspector.keys(`${prefix}*:s:*`)).length,
        async close() {
          await store.close();
          await client.quit();
          await inspector.quit();
        },
      };
    },
  },
  {
    // The same store over an ioredis Cluster client on a real
    // three-master Redis Cluster (all keys of a user in one hash slot).
    name: "RedisStore on a Redis Cluster",
    redis: true,
    // The store's commands spread over three servers: the tests that watch
    // one server's MONITOR or INFO commandstats do not apply.
    singleServer: false,
    async open() {
      const cluster = await sharedCluster();
      // The suite's own connection: single-key commands routed by slot,
      // KEYS and SCRIPT sent to every master (see clusterInspector).
      const inspector = clusterInspector(await connectCluster(cluster));
      // Every master empty, every script cache too (NOSCRIPT recovery per case).
      await flushCluster(inspector, { scripts: true });
      const client = await connectCluster(cluster, { redisOptions: { commandTimeout: 5000 } });
      const prefix = `contract${++prefixes}:`;
      const store = new RedisStore({ client, prefix });
      const [seed] = cluster.startupNodes;
      return {
        store,
        redis: { url: `redis://${seed.host}:${seed.port}`, client: inspector as unknown as Redis, prefix },
        held: async () => (await inspector.keys(`${prefix}*:s:*`)).length,
        async close() {
          await store.close();
          await client.quit();
          await inspector.quit();
        },
      };
    },
  },
];

for (const factory of stores) describeStoreContract(factory);
