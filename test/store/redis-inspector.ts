/**
 * The store contract suite's view into Redis, for RedisStore on one server
 * or on a Cluster: what is held (EXISTS, KEYS), the user's index (ZRANGE
 * WITHSCORES) and expiries (PTTL), through the suite's own connection.
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import type { StoreInspector } from "../../lib/testing/index.js";

/** PTTL in ms, `null` for a key without expiry (-1); a missing key (-2) is a failure of the caller's expectation. */
const ttl = (pttl: number): number | null => (pttl === -1 ? null : pttl);

export function redisInspector(client: Redis | Cluster, prefix: string): StoreInspector {
  const sKey = (userId: string, sessionId: string) => sessionKey(userKeyBase(prefix, userId), sessionId);
  const iKey = (userId: string) => indexKey(userKeyBase(prefix, userId));
  return {
    held: async () => (await client.keys(`${prefix}*:s:*`)).length,
    holds: async (userId, sessionId) => (await client.exists(sKey(userId, sessionId))) === 1,
    entries: async (userId) => (await client.keys(`${userKeyBase(prefix, userId)}*`)).length,
    async indexed(userId) {
      const members = await client.zrange(iKey(userId), 0, -1, "WITHSCORES");
      const out: Record<string, number> = {};
      for (let i = 0; i < members.length; i += 2) out[members[i]] = Number(members[i + 1]);
      return out;
    },
    timeToLive: async (userId, sessionId) => ttl(await client.pttl(sessionId === undefined ? iKey(userId) : sKey(userId, sessionId))),
    async unexpiring() {
      const keys = await client.keys(`${prefix}*`);
      const pttls = await Promise.all(keys.map((key) => client.pttl(key)));
      return keys.filter((_, i) => pttls[i] === -1);
    },
    raw: async (userId, sessionId) => ({
      record: await client.get(sKey(userId, sessionId)),
      score: await client.zscore(iKey(userId), sessionId),
    }),
  };
}
