/**
 * Redis-only cases that used to sit in the store contract suite, run on one
 * server and on a three-master Cluster: the key layout under the prefix,
 * recovery from SCRIPT FLUSH before every operation, and (on one server,
 * where MONITOR and INFO commandstats see every command) the round trips
 * and writes of a check.
 */
import { expect } from "chai";
import { Redis, type Cluster } from "ioredis";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { RedisStore } from "../../lib/stores/redis.js";
import { EPOCH, HOUR, MINUTE, SECOND } from "../support/clock.js";
import { clusterInspector, connectCluster, flushCluster, sharedCluster } from "../support/redis-cluster.js";
import { commandCount, flushRedis, recordCommands, sharedRedis } from "../support/redis-server.js";
import type { SessionRecord } from "../../lib/stores/store.js";
import { sessionRecord } from "../support/session-record.js";

/** Commands that write; a check that is not due for a touch runs none of them. */
const WRITE_COMMANDS = [
  "hset",
  "hmset",
  "hsetnx",
  "hdel",
  "hincrby",
  "del",
  "unlink",
  "set",
  "setrange",
  "append",
  "persist",
  "expire",
  "pexpire",
  "expireat",
  "pexpireat",
  "zadd",
  "zrem",
  "zincrby",
  "zremrangebyscore",
  "zremrangebyrank",
];
const REUSE_WINDOW = 10 * SECOND;

interface Topology {
  name: string;
  /** True when one server sees every command (MONITOR, commandstats). */
  singleServer: boolean;
  open(prefix: string): Promise<{ store: RedisStore; inspector: Redis | Cluster; url: string; close(): Promise<void> }>;
}

const TOPOLOGIES: Topology[] = [
  {
    name: "one server",
    singleServer: true,
    async open(prefix) {
      const { url } = await sharedRedis();
      const inspector = new Redis(url, { maxRetriesPerRequest: 1 });
      await flushRedis(inspector, { scripts: true });
      const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, commandTimeout: 5000, maxRetriesPerRequest: 1 });
      await client.connect();
      const store = new RedisStore({ client, prefix });
      return { store, inspector, url, close: async () => void (await store.close(), await client.quit(), await inspector.quit()) };
    },
  },
  {
    name: "a Redis Cluster",
    singleServer: false,
    async open(prefix) {
      const cluster = await sharedCluster();
      const inspector = clusterInspector(await connectCluster(cluster));
      await flushCluster(inspector, { scripts: true });
      const client = await connectCluster(cluster, { redisOptions: { commandTimeout: 5000 } });
      const store = new RedisStore({ client, prefix });
      const [seed] = cluster.startupNodes;
      return {
        store,
        inspector,
        url: `redis://${seed.host}:${seed.port}`,
        close: async () => void (await store.close(), await client.quit(), await inspector.quit()),
      };
    },
  },
];

let prefixes = 0;

for (const topology of TOPOLOGIES) {
  describe(`RedisStore on ${topology.name} (Redis only)`, () => {
    let opened: Awaited<ReturnType<Topology["open"]>>;
    let prefix: string;
    let now: number;
    const sKey = (userId: string, id: string) => sessionKey(userKeyBase(prefix, userId), id);
    const iKey = (userId: string) => indexKey(userKeyBase(prefix, userId));
    const newRecord = (userId: string, id: string) =>
      sessionRecord(userId, id, { createdAt: now, lastUsedAt: now, absoluteLifetime: 30 * 24 * HOUR, claims: "{}" });
    const create = async (userId: string, id: string) => {
      const record = newRecord(userId, id);
      await opened.store.create({ record: { ...record }, refreshHash: "h0", maxSessions: null, now });
      return record;
    };
    const rotate = (r: SessionRecord, generation: number, presentedHash: string, successorHash: string) =>
      opened.store.rotate({
        userId: r.userId,
        sessionId: r.id,
        generation,
        presentedHash,
        successorHash,
        now,
        reuseWindow: REUSE_WINDOW,
        ip: "",
        userAgent: "",
      });

    beforeEach(async () => {
      prefix = `topology${++prefixes}:`;
      now = EPOCH;
      opened = await topology.open(prefix);
    });
    afterEach(() => opened.close());

    it("uses the key layout of keys.ts under the store's prefix", async () => {
      const record = await create("carol", "c".repeat(22));
      expect((await opened.inspector.keys("*")).sort()).to.deep.equal([iKey("carol"), sKey("carol", record.id)].sort());
      expect(await opened.inspector.type(sKey("carol", record.id))).to.equal("string");
      expect(await opened.inspector.type(iKey("carol"))).to.equal("zset");
    });

    it("recovers from SCRIPT FLUSH before every operation (NOSCRIPT)", async () => {
      const flush = () => opened.inspector.script("FLUSH");
      const record = await create("alice", "a".repeat(22));
      await flush();
      const other = await create("alice", "b".repeat(22));
      now += 10 * MINUTE;
      await flush();
      expect((await opened.store.check("alice", record.id, now, MINUTE))?.lastUsedAt).to.equal(now);
      await flush();
      expect((await opened.store.get("alice", other.id, now))?.id).to.equal(other.id);
      await flush();
      expect((await rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
      await flush();
      expect((await rotate(record, 0, "h0", "h1")).status).to.equal("repeated");
      await flush();
      expect(await rotate(record, 5, "h5", "h6")).to.deep.equal({ status: "invalid" });
      await flush();
      expect((await opened.store.list("alice", now)).map((r) => r.id).sort()).to.deep.equal([record.id, other.id].sort());
      await flush();
      expect(await opened.store.revokeByRefresh("alice", other.id, 0, "h0", now, REUSE_WINDOW)).to.equal("ended");
      await flush();
      expect(await opened.store.revoke("alice", "z".repeat(22), now)).to.equal(false);
      await flush();
      expect(await opened.store.revokeAll("alice", undefined, now)).to.deep.equal([record.id]);
      expect(await opened.inspector.keys(`${userKeyBase(prefix, "alice")}*`)).to.deep.equal([]);
    });

    if (topology.singleServer) {
      it("a check costs one round trip, and runs no write command when no touch is due", async () => {
        const record = await create("alice", "a".repeat(22));
        await opened.store.check("alice", record.id, now, MINUTE); // loads the script
        now += 30 * SECOND;
        const inspector = opened.inspector as Redis;
        const writesBefore = await commandCount(inspector, WRITE_COMMANDS);
        const { result, roundTrips } = await recordCommands(opened.url, () => opened.store.check("alice", record.id, now, MINUTE));
        expect(result?.lastUsedAt).to.equal(record.lastUsedAt);
        expect(
          roundTrips.map((c) => c.name),
          "round trips of one check",
        ).to.have.length(1);
        expect(await commandCount(inspector, WRITE_COMMANDS), "write commands run by a check with no touch due").to.equal(writesBefore);
      });

      it("a check costs one round trip when a touch is due too", async () => {
        const record = await create("alice", "a".repeat(22));
        await opened.store.check("alice", record.id, now, MINUTE); // loads the script
        now += 10 * MINUTE;
        const { result, roundTrips } = await recordCommands(opened.url, () => opened.store.check("alice", record.id, now, MINUTE));
        expect(result?.lastUsedAt).to.equal(now);
        expect(
          roundTrips.map((c) => c.name),
          "round trips of one touching check",
        ).to.have.length(1);
      });
    }
  });
}
