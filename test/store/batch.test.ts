/**
 * The store's own batching of a plain client's script calls (see
 * `lib/stores/redis/batch.ts`): the calls of one event-loop turn leave in
 * one socket write as one pipeline, each caller gets its own reply, NOSCRIPT
 * is recovered inside a batch, Cluster and auto-pipelining clients are left
 * alone, and a Redis lost mid-batch fails every caller, which the guard
 * answers with 503 store_unavailable. Real `redis-server`.
 */
import { expect } from "chai";
import { Redis, type Cluster } from "ioredis";
import request from "supertest";
import { RedisStore } from "../../lib/stores/redis.js";
import type { SessionRecord } from "../../lib/stores/store.js";
import { buildApp, expectError, login, me } from "../http/app.js";
import { EPOCH, HOUR, fakeClock } from "../support/clock.js";
import { connectCluster, sharedCluster } from "../support/redis-cluster.js";
import { commandStats, flushRedis, sharedRedis, startRedis, type RedisNode } from "../support/redis-server.js";

/** A client with no option that batches: what `new Redis(url)` gives, with failures that come fast. */
const PLAIN = { enableOfflineQueue: false, commandTimeout: 5000, maxRetriesPerRequest: 1 } as const;
const CALLS = 40;

const sessionId = (i: number) => `s${String(i).padStart(21, "0")}`;
const record = (userId: string, id: string, now: number): SessionRecord => ({
  id,
  userId,
  createdAt: now,
  lastUsedAt: now,
  idleTimeout: HOUR,
  absoluteLifetime: 30 * 24 * HOUR,
  rememberMe: false,
  claims: "{}",
  data: "",
  ip: "",
  userAgent: "",
});

/** Counts, from now on, the writes to the client's socket, its `pipeline()` calls, and the scripts the store sent through the client itself. */
function spy(client: Redis | Cluster): { writes: number; pipelines: number; direct: number } {
  const counts = { writes: 0, pipelines: 0, direct: 0 };
  const target = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const [name, key] of [
    ["pipeline", "pipelines"],
    ["evalsha", "direct"],
    ["evalshaBuffer", "direct"],
  ] as const) {
    const original = target[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      counts[key]++;
      return original.apply(this, args);
    };
  }
  const stream = (client as Redis).stream as { write: (...args: unknown[]) => boolean } | undefined;
  if (stream) {
    const write = stream.write;
    stream.write = function (this: unknown, ...args: unknown[]) {
      counts.writes++;
      return write.apply(this, args);
    };
  }
  return counts;
}

/** Polls `condition` every few milliseconds until it holds, failing after a deadline. */
async function until(condition: () => boolean, deadlineMs = 10_000): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met before the deadline");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function connected(url: string, options: object = PLAIN): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, ...options });
  client.on("error", () => {});
  await client.connect();
  return client;
}

describe("RedisStore batching of a plain client", () => {
  let node: RedisNode;
  let inspector: Redis;
  let client: Redis;
  let store: RedisStore;
  let prefixes = 0;
  const now = EPOCH;

  beforeEach(async () => {
    node = await sharedRedis();
    inspector = new Redis(node.url, { maxRetriesPerRequest: 1 });
    await flushRedis(inspector, { scripts: true });
    client = await connected(node.url);
    store = new RedisStore({ client, prefix: `batch${++prefixes}:` });
  });
  afterEach(async () => {
    await store.close();
    client.disconnect();
    inspector.disconnect();
  });

  /** Logs in `count` users (one session each, ids from {@link sessionId}), one by one. */
  async function createSessions(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await store.create({ record: record(`user${i}`, sessionId(i), now), refreshHash: "h0", maxSessions: null, now });
    }
  }

  it("sends the checks of one event-loop turn in one socket write, as one pipeline", async () => {
    await createSessions(CALLS);
    await store.check("user0", sessionId(0), now, HOUR); // loads the script
    const counts = spy(client);
    const before = (await commandStats(inspector)).get("evalsha") ?? 0;
    const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => store.check(`user${i}`, sessionId(i), now, HOUR)));
    expect(results.map((r) => r?.id)).to.deep.equal(Array.from({ length: CALLS }, (_, i) => sessionId(i)));
    expect(counts).to.deep.equal({ writes: 1, pipelines: 1, direct: 0 });
    expect((await commandStats(inspector)).get("evalsha"), "EVALSHA run by Redis").to.equal(before + CALLS);
  });

  it("gives each caller its own reply, of every kind of call mixed in one batch", async () => {
    await createSessions(4);
    // Loads the scripts, so that the batch meets no NOSCRIPT.
    await Promise.all([store.check("x", "x", now, HOUR), store.get("x", "x", now), store.revoke("x", "x", now), store.list("x", now)]);
    const counts = spy(client);
    const [hit, miss, wrongUser, got, revoked, revokedAgain, listed, checkedAfter] = await Promise.all([
      store.check("user0", sessionId(0), now, HOUR),
      store.check("user1", "n".repeat(22), now, HOUR),
      store.check("user9", sessionId(1), now, HOUR),
      store.get("user1", sessionId(1), now),
      store.revoke("user2", sessionId(2), now),
      store.revoke("user2", sessionId(2), now),
      store.list("user3", now),
      store.check("user2", sessionId(2), now, HOUR),
    ]);
    expect(counts).to.deep.equal({ writes: 1, pipelines: 1, direct: 0 });
    expect(hit?.id).to.equal(sessionId(0));
    expect(hit?.userId).to.equal("user0");
    expect(miss).to.equal(null);
    expect(wrongUser).to.equal(null);
    expect(got?.id).to.equal(sessionId(1));
    expect(got?.userId).to.equal("user1");
    // Sent in order in one pipeline: the first revoke ends it, the second finds nothing, the check after them too.
    expect([revoked, revokedAgain]).to.deep.equal([true, false]);
    expect(listed.map((r) => r.id)).to.deep.equal([sessionId(3)]);
    expect(checkedAfter).to.equal(null);
  });

  it("recovers NOSCRIPT after SCRIPT FLUSH for every call of a batch, raw and plain replies alike", async () => {
    await createSessions(6);
    await inspector.script("FLUSH");
    const before = await commandStats(inspector);
    const counts = spy(client);
    const [checks, revokes] = await Promise.all([
      Promise.all([0, 1, 2].map((i) => store.check(`user${i}`, sessionId(i), now, HOUR))),
      Promise.all([3, 4, 5].map((i) => store.revoke(`user${i}`, sessionId(i), now))),
    ]);
    expect(checks.map((r) => r?.id)).to.deep.equal([0, 1, 2].map(sessionId));
    expect(revokes).to.deep.equal([true, true, true]);
    expect(counts, "one pipeline of EVALSHA, one of EVAL").to.deep.equal({ writes: 2, pipelines: 2, direct: 0 });
    const after = await commandStats(inspector);
    expect((after.get("eval") ?? 0) - (before.get("eval") ?? 0), "EVAL after NOSCRIPT").to.equal(6);
    expect(await inspector.keys(`batch${prefixes}:*:s:*`)).to.have.length(3);
  });

  it("leaves a client with its own auto-pipelining alone: each script goes through the client", async () => {
    await createSessions(CALLS);
    const tuned = await connected(node.url, { ...PLAIN, enableAutoPipelining: true });
    const tunedStore = new RedisStore({ client: tuned, prefix: `batch${prefixes}:` });
    try {
      const counts = spy(tuned);
      const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => tunedStore.check(`user${i}`, sessionId(i), now, HOUR)));
      expect(results.every((r, i) => r?.id === sessionId(i))).to.equal(true);
      expect(counts.direct, "scripts sent through the client itself").to.equal(CALLS);
    } finally {
      await tunedStore.close();
      tuned.disconnect();
    }
  });

  it("a client that throws instead of rejecting fails that batch's callers, and the next batch still goes out", async () => {
    await createSessions(2);
    const target = client as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = { evalshaBuffer: target.evalshaBuffer, pipeline: target.pipeline };
    const thrown = new Error("thrown by the client");
    target.evalshaBuffer = target.pipeline = () => {
      throw thrown;
    };
    const alone = await store.check("user0", sessionId(0), now, HOUR).catch((err: unknown) => err);
    const together = await Promise.allSettled([0, 1].map((i) => store.check(`user${i}`, sessionId(i), now, HOUR)));
    Object.assign(target, original);
    expect(alone).to.equal(thrown);
    expect(together.map((o) => (o as PromiseRejectedResult).reason)).to.deep.equal([thrown, thrown]);
    expect((await store.check("user1", sessionId(1), now, HOUR))?.id).to.equal(sessionId(1));
  });

  it("fails every caller of a batch whose connection is down, as a single command fails", async () => {
    await createSessions(3);
    client.disconnect();
    const outcomes = await Promise.allSettled([0, 1, 2].map((i) => store.check(`user${i}`, sessionId(i), now, HOUR)));
    expect(outcomes.map((o) => o.status)).to.deep.equal(["rejected", "rejected", "rejected"]);
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(Error);
    }
    const alone = await store.check("user0", sessionId(0), now, HOUR).catch((err: Error) => err);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).to.equal(String(alone));
  });
});

describe("RedisStore batching on a Cluster", () => {
  it("never batches a Cluster client's scripts", async () => {
    const cluster = await sharedCluster();
    const client = await connectCluster(cluster, { redisOptions: { commandTimeout: 5000 } });
    const store = new RedisStore({ client, prefix: "batchcluster:" });
    try {
      const users = ["alice", "bob", "carol", "dave"];
      for (const [i, user] of users.entries()) {
        await store.create({ record: record(user, sessionId(i), EPOCH), refreshHash: "h0", maxSessions: null, now: EPOCH });
      }
      const counts = spy(client);
      const results = await Promise.all(users.map((user, i) => store.check(user, sessionId(i), EPOCH, HOUR)));
      expect(results.map((r) => r?.userId)).to.deep.equal(users);
      expect({ pipelines: counts.pipelines, direct: counts.direct }).to.deep.equal({ pipelines: 0, direct: users.length });
      await Promise.all(users.map((user) => store.revokeAll(user, undefined, EPOCH)));
    } finally {
      await store.close();
      await client.quit();
    }
  });
});

describe("RedisStore batching when Redis is lost mid-batch", () => {
  let node: RedisNode;
  let client: Redis;
  let admin: Redis;
  beforeEach(async () => {
    node = await startRedis();
    client = await connected(node.url, { ...PLAIN, commandTimeout: 2000, retryStrategy: () => 50 });
    admin = await connected(node.url, { maxRetriesPerRequest: 1 });
  });
  afterEach(async () => {
    client.disconnect();
    admin.disconnect();
    await node.stop();
  });

  it("every guarded request of the batch gets 503 store_unavailable, none another 5xx", async () => {
    const store = new RedisStore({ client, prefix: "sg:" });
    const t = buildApp({ clock: fakeClock(EPOCH), guard: { store, storeTimeout: 1000 } });
    try {
      const users = ["alice", "bob", "carol", "dave", "erin"];
      const tokens = [];
      for (const user of users) tokens.push(await login(t, user));
      // Paused, Redis takes the checks' bytes but answers nothing: it dies with
      // one batch in flight and the checks that came meanwhile queued behind it.
      await admin.call("CLIENT", "PAUSE", "10000", "ALL");
      let checks = 0;
      const check = store.check.bind(store);
      store.check = (...args) => (checks++, check(...args));
      const server = t.app.listen(0, "127.0.0.1");
      try {
        const agent = request(server);
        const responses = Promise.all(tokens.map((tok) => agent.get("/me").set("Authorization", `Bearer ${tok.access_token}`)));
        await until(() => checks === users.length);
        process.kill(node.pid, "SIGKILL");
        for (const res of await responses) expectError(res, 503, "store_unavailable");
      } finally {
        server.close();
      }
      expect(t.eventsOf("store_error").map((e) => e.userId)).to.have.members(users);
      expect(await me(t, tokens[0].access_token).then((r) => r.status)).to.equal(503);
    } finally {
      await t.guard.close();
      await store.close();
    }
  });
});
