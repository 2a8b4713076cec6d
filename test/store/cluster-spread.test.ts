/**
 * Keys of many users spread over every master of the three-master test
 * Cluster (each user's keys in one hash slot of their own), and every store
 * operation works for users on each master.
 */
import { expect } from "chai";
import type { Cluster } from "ioredis";
import { indexKey, userKeyBase } from "../../lib/stores/keys.js";
import { RedisStore } from "../../lib/stores/redis.js";
import { EPOCH, HOUR, MINUTE, SECOND } from "../support/clock.js";
import { clusterTopology, connectCluster, masterOfSlot, userSlot, sharedCluster } from "../support/redis-cluster.js";
import { sessionRecord } from "../support/session-record.js";

const USERS = 1000;
/** Users of each master put through every operation. */
const SAMPLE_PER_MASTER = 10;
const REUSE_WINDOW = 10 * SECOND;

describe("RedisStore on a Redis Cluster: keys spread over the masters", function () {
  this.timeout(60_000);
  const prefix = `spread${process.pid}:`;
  let client: Cluster;
  let store: RedisStore;
  const userIds = Array.from({ length: USERS }, (_, i) => `spread-user-${i}`);
  const sessionOf = (userId: string, n = 0) => `${userId.replace(/\D/g, "")}-${n}`.padEnd(22, "s");
  const record = (userId: string, id: string) => sessionRecord(userId, id, { absoluteLifetime: 30 * 24 * HOUR, claims: "{}" });
  const create = (userId: string, id: string) =>
    store.create({ record: record(userId, id), refreshHash: "h0", maxSessions: null, now: EPOCH });

  before(async () => {
    client = await connectCluster(await sharedCluster());
    store = new RedisStore({ client, prefix });
    for (let i = 0; i < USERS; i += 100) await Promise.all(userIds.slice(i, i + 100).map((u) => create(u, sessionOf(u))));
  });
  after(async () => {
    await Promise.all(userIds.map((u) => store.revokeAll(u, undefined, EPOCH)));
    await store.close();
    client.disconnect();
  });

  it(`${USERS} users' keys land on all three masters, each user's on one`, async () => {
    const perMaster = await Promise.all(
      client.nodes("master").map(async (node) => {
        const keys: string[] = [];
        let cursor = "0";
        do {
          const [next, page] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          keys.push(...page);
          cursor = next;
        } while (cursor !== "0");
        return keys;
      }),
    );
    const indexes = perMaster.map((keys) => keys.filter((k) => k.endsWith(":i")).length);
    expect(indexes, "users per master").to.have.length(3);
    // Slots are split evenly and the hash tags look random: about a third each.
    for (const count of indexes) expect(count).to.be.within(USERS / 5, USERS / 2);
    expect(indexes.reduce((a, b) => a + b, 0)).to.equal(USERS);
    // A user's session key sits on the master of their index key.
    for (const keys of perMaster) {
      const held = new Set(keys);
      for (const key of keys)
        if (key.endsWith(":i")) expect(held.has(`${key.slice(0, -1)}s:${sessionOf(userOfKey(key))}`), key).to.equal(true);
    }
    expect(perMaster.flat()).to.have.length(2 * USERS);
  });

  /** The user id of one of this test's index keys. */
  function userOfKey(key: string): string {
    const tag = /\{([^}]*)\}/.exec(key)![1];
    return Buffer.from(tag, "base64url").toString("utf8");
  }

  it(`every operation works for ${SAMPLE_PER_MASTER} users on each master`, async () => {
    const topology = await clusterTopology((await sharedCluster()).nodes);
    const byMaster = new Map<number, string[]>();
    for (const userId of userIds) {
      const port = masterOfSlot(topology, await userSlot(client, prefix, userId)).port;
      const users = byMaster.get(port) ?? [];
      if (users.length < SAMPLE_PER_MASTER) byMaster.set(port, [...users, userId]);
      if ([...byMaster.values()].every((u) => u.length === SAMPLE_PER_MASTER) && byMaster.size === 3) break;
    }
    const sample = [...byMaster.values()].flat();
    expect(sample).to.have.length(3 * SAMPLE_PER_MASTER);
    for (const userId of sample) {
      const first = sessionOf(userId);
      const second = sessionOf(userId, 1);
      const third = sessionOf(userId, 2);
      const now = EPOCH + 10 * MINUTE;
      expect((await store.check(userId, first, now, MINUTE))?.lastUsedAt, `${userId} check`).to.equal(now);
      const rotated = await store.rotate({
        userId,
        sessionId: first,
        generation: 0,
        presentedHash: "h0",
        successorHash: "h1",
        now,
        reuseWindow: REUSE_WINDOW,
        ip: "",
        userAgent: "",
      });
      expect(rotated.status, `${userId} rotate`).to.equal("rotated");
      await create(userId, second);
      await create(userId, third);
      expect((await store.list(userId, now)).map((r) => r.id).sort(), `${userId} list`).to.deep.equal([first, second, third].sort());
      expect(await store.revoke(userId, second, now), `${userId} revoke`).to.equal(true);
      expect(await store.check(userId, second, now, MINUTE), `${userId} revoked`).to.equal(null);
      expect((await store.revokeAll(userId, undefined, now)).sort(), `${userId} revokeAll`).to.deep.equal([first, third].sort());
      expect(await store.list(userId, now), `${userId} after revokeAll`).to.deep.equal([]);
      expect(await client.exists(indexKey(userKeyBase(prefix, userId))), `${userId} index gone`).to.equal(0);
    }
  });
});
