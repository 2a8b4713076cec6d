/**
 * The HTTP behaviour that depends on Redis:
 * revocation seen at once by a second app instance, keys with TTLs and
 * gone with their session, concurrent refreshes and logins, one round trip
 * per guarded request, and store failures. Real `redis-server`, fake clock.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Redis } from "ioredis";
import request from "supertest";
import { RedisStore } from "../../lib/index.js";
import { DAY, EPOCH, MINUTE, SECOND, fakeClock } from "../support/clock.js";
import { freePort, recordCommands, spawnRedisNode, startRedis, type RedisNode } from "../support/redis-server.js";
import {
  buildApp,
  expectError,
  login,
  me,
  MOUNT,
  PASSWORD,
  ready,
  redisFixture,
  refresh,
  SAFE_CLIENT,
  type RedisFixture,
  type TestApp,
} from "./app.js";

const bearer = (token: string) => `Bearer ${token}`;
const WRITES = new Set(["hset", "hmset", "pexpire", "pexpireat", "expire", "zadd", "del", "unlink", "zrem", "set", "persist"]);

describe("session routes against Redis", () => {
  let redis: RedisFixture;
  let t: TestApp;
  beforeEach(async () => {
    redis = await redisFixture();
    t = buildApp({ guard: { store: redis.store } });
  });
  afterEach(async () => {
    await t.guard.close();
    await redis.close();
  });

  describe("two app instances sharing one Redis", () => {
    let other: TestApp;
    let otherClient: Redis;
    beforeEach(async () => {
      // A second process: its own guard, its own client, the same Redis and prefix.
      otherClient = new Redis(redis.url, SAFE_CLIENT);
      await ready(otherClient);
      other = buildApp({ clock: t.clock, guard: { store: new RedisStore({ client: otherClient, prefix: redis.prefix }) } });
    });
    afterEach(async () => {
      await other.guard.close();
      otherClient.disconnect();
    });

    it("a logout on one is seen at once by the other", async () => {
      const tokens = await login(t, "alice");
      expect((await me(other, tokens.access_token)).status).to.equal(200);
      expect((await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(tokens.access_token))).status).to.equal(204);
      expectError(await me(other, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(await redis.keys()).to.deep.equal([]);
    });

    it("global logout, revoke by id, eviction and reuse detection are seen at once by the other", async () => {
      const a = await login(t, "alice");
      const b = await login(other, "alice");
      const c = await login(t, "alice");
      expect(
        (await request(other.app).delete(`${MOUNT}/sessions/${c.session.id}`).set("Authorization", bearer(b.access_token))).status,
      ).to.equal(204);
      expectError(await me(t, c.access_token), 401, "session_inactive", { tokenPresented: true });
      const all = await request(t.app).post(`${MOUNT}/logout-all`).set("Authorization", bearer(a.access_token));
      expect(all.body).to.deep.equal({ revoked: 2 });
      expectError(await me(other, b.access_token), 401, "session_inactive", { tokenPresented: true });
      expectError(await me(other, a.access_token), 401, "session_inactive", { tokenPresented: true });

      const d = await login(t, "bob");
      const d2 = await refresh(t, d.refresh_token);
      t.clock.advance(MINUTE);
      expectError(await refresh(other, d.refresh_token), 401, "refresh_token_reused");
      expect(other.eventsOf("reuse_detected")).to.deep.equal([{ sessionId: d.session.id, userId: "bob" }]);
      expectError(await me(t, d2.body.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(await redis.keys()).to.deep.equal([]);
    });
  });

  describe("keys and deadlines", () => {
    it("every key has a TTL, and a dead session's keys are gone once it is met", async () => {
      await t.guard.close();
      t = buildApp({ guard: { store: redis.store, idleTimeout: "10m", absoluteLifetime: "1h" } });
      const tokens = await login(t, "alice");
      const keys = await redis.keys();
      expect(keys).to.have.length(2);
      for (const key of keys) {
        const pttl = await redis.client.pttl(key);
        expect(pttl, key)
          .to.be.above(9 * MINUTE)
          .and.at.most(10 * MINUTE);
      }
      t.clock.advance(10 * MINUTE);
      expectError(await me(t, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(await redis.keys()).to.deep.equal([]);
    });

    it("a forever session's keys have no TTL; a standard one beside it keeps its TTL", async () => {
      await t.guard.close();
      t = buildApp({ guard: { store: redis.store, rememberMe: { idleTimeout: null, absoluteLifetime: null } } });
      const forever = await login(t, "alice", { rememberMe: true });
      const standard = await login(t, "alice");
      const ttls = Object.fromEntries(await Promise.all((await redis.keys()).map(async (k) => [k, await redis.client.pttl(k)] as const)));
      const sessionTtl = (id: string) => Object.entries(ttls).find(([k]) => k.endsWith(`:s:${id}`))![1];
      expect(sessionTtl(forever.session.id)).to.equal(-1);
      expect(sessionTtl(standard.session.id))
        .to.be.above(DAY - MINUTE)
        .and.at.most(DAY);
      expect(Object.entries(ttls).find(([k]) => k.endsWith(":i"))![1]).to.equal(-1);
      t.clock.advance(3 * 365 * DAY);
      const res = await refresh(t, forever.refresh_token);
      expect(res.status).to.equal(200);
      expect((await me(t, res.body.access_token)).status).to.equal(200);
      expectError(await refresh(t, standard.refresh_token), 401, "refresh_token_invalid");
    });
  });

  describe("concurrency", () => {
    it("20 parallel refreshes of one token all get the same successor", async () => {
      const tokens = await login(t, "alice");
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(t, tokens.refresh_token)));
      expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
      const successors = new Set(results.map((r) => r.body.refresh_token));
      expect(successors.size).to.equal(1);
      expect(t.eventsOf("refresh")).to.have.length(1);
      expect(t.eventsOf("reuse_detected")).to.deep.equal([]);
      const [successor] = successors;
      expect((await refresh(t, successor)).status).to.equal(200);
    });

    it("parallel logins against the cap leave exactly the cap", async () => {
      await t.guard.close();
      t = buildApp({ guard: { store: redis.store, maxSessionsPerUser: 3 } });
      const all = await Promise.all(Array.from({ length: 12 }, () => login(t, "alice")));
      const live = await t.guard.sessions.list("alice");
      expect(live).to.have.length(3);
      expect(await redis.keys()).to.have.length(4); // three sessions and the index
      expect(await redis.client.zcard((await redis.keys()).find((k) => k.endsWith(":i"))!)).to.equal(3);
      const evicted = t.eventsOf("revoke");
      expect(evicted).to.have.length(9);
      expect(new Set(evicted.map((e) => e.reason))).to.deep.equal(new Set(["evicted"]));
      const liveIds = new Set(live.map((s) => s.id));
      expect(evicted.some((e) => liveIds.has(e.sessionId as string))).to.equal(false);
      const statuses = await Promise.all(all.map(async (s) => (await me(t, s.access_token)).status));
      expect(statuses.filter((s) => s === 200)).to.have.length(3);
    });
  });

  describe("one round trip", () => {
    it("a guarded request is exactly one script call, with no write inside touchInterval", async () => {
      const tokens = await login(t, "alice");
      expect((await me(t, tokens.access_token)).status).to.equal(200); // warm-up (first-use checks of the store)
      t.clock.advance(10 * SECOND);
      const quiet = await recordCommands(redis.url, () => me(t, tokens.access_token));
      expect(quiet.result.status).to.equal(200);
      expect(quiet.roundTrips.map((c) => c.name)).to.deep.equal(["evalsha"]);
      expect(quiet.commands.filter((c) => WRITES.has(c.name))).to.deep.equal([]);

      t.clock.advance(MINUTE);
      const touching = await recordCommands(redis.url, () => me(t, tokens.access_token));
      expect(touching.result.status).to.equal(200);
      expect(touching.result.body.lastUsedAt).to.equal(new Date(t.clock.now()).toISOString());
      expect(touching.roundTrips.map((c) => c.name)).to.deep.equal(["evalsha"]);
      expect(touching.commands.some((c) => WRITES.has(c.name))).to.equal(true);
    });

    it("a request rejected by the JWT check costs no round trip", async () => {
      const tokens = await login(t, "alice");
      t.clock.advance(20 * MINUTE);
      const { result, roundTrips } = await recordCommands(redis.url, async () => [
        await me(t, tokens.access_token),
        await request(t.app).get("/me").set("Authorization", "Bearer a.b.c"),
        await request(t.app).get("/me"),
      ]);
      expect(result.map((r) => r.body.error)).to.deep.equal(["token_expired", "token_invalid", "token_missing"]);
      expect(roundTrips).to.deep.equal([]);
    });
  });
});

describe("store failures", function () {
  let node: RedisNode;
  let client: Redis;
  let t: TestApp;
  const STORE_TIMEOUT = 300;
  /** Real time a 503 may take beyond storeTimeout. */
  const MARGIN = 700;

  beforeEach(async () => {
    node = await startRedis();
    client = new Redis(node.url, { ...SAFE_CLIENT, retryStrategy: () => 50 });
    client.on("error", () => {});
    await ready(client);
  });
  afterEach(async () => {
    await t?.guard.close();
    client.disconnect();
    await node.stop();
  });

  function app(onStoreError: "deny" | "allow"): TestApp {
    const store = new RedisStore({ client, prefix: "sg:" });
    t = buildApp({ clock: fakeClock(EPOCH), guard: { store, storeTimeout: STORE_TIMEOUT, onStoreError } });
    return t;
  }

  async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const start = performance.now();
    const result = await fn();
    return { result, ms: performance.now() - start };
  }

  it("with Redis stopped: 503 store_unavailable with Retry-After within storeTimeout, and back after a restart on the same port", async () => {
    app("deny");
    const tokens = await login(t, "alice");
    await node.stop();
    for (const send of [
      () => me(t, tokens.access_token),
      () => refresh(t, tokens.refresh_token),
      () => request(t.app).post(`${MOUNT}/login`).send({ user: "bob", password: PASSWORD }),
    ]) {
      const { result, ms } = await timed(send);
      expectError(result, 503, "store_unavailable");
      expect(result.headers["retry-after"]).to.equal("1");
      expect(ms).to.be.below(STORE_TIMEOUT + MARGIN);
    }
    const storeErrors = t.eventsOf("store_error");
    expect(storeErrors.map((e) => e.operation)).to.deep.equal(["check", "rotate", "create"]);
    expect(storeErrors[0].sessionId).to.equal(tokens.session.id);
    expect(storeErrors[0].userId).to.equal("alice");
    expect(storeErrors[0].error).to.be.instanceOf(Error);

    const dir = await mkdtemp(join(tmpdir(), "session-guard-http-"));
    node = await spawnRedisNode({ port: node.port, dir });
    await ready(client);
    // The data did not survive (no persistence): the old session is gone, a new login works.
    expectError(await me(t, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
    const again = await login(t, "alice");
    expect((await me(t, again.access_token)).status).to.equal(200);
  });

  it("with Redis paused: 503 within storeTimeout, not after the client's command timeout", async () => {
    app("deny");
    const tokens = await login(t, "alice");
    const admin = new Redis(node.url);
    try {
      await admin.call("CLIENT", "PAUSE", "1500", "ALL");
      const { result, ms } = await timed(() => me(t, tokens.access_token));
      expectError(result, 503, "store_unavailable");
      expect(ms)
        .to.be.at.least(STORE_TIMEOUT - 50)
        .and.below(STORE_TIMEOUT + MARGIN);
      await admin.call("CLIENT", "UNPAUSE");
    } finally {
      admin.disconnect();
    }
    expect((await me(t, tokens.access_token)).status).to.equal(200);
  });

  it("with Redis out of memory (noeviction): logins answer 503, live sessions stay usable, a logout still ends its session", async () => {
    app("deny");
    const tokens = await login(t, "alice");
    expect((await me(t, tokens.access_token)).status).to.equal(200);
    await client.config("SET", "maxmemory-policy", "noeviction");
    await client.config("SET", "maxmemory", "1");
    const keysBefore = (await client.keys("*")).sort();
    try {
      const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "bob", password: PASSWORD });
      expectError(res, 503, "store_unavailable");
      expect(t.eventsOf("store_error").map((e) => e.operation)).to.deep.equal(["create"]);
      expect((await client.keys("*")).sort()).to.deep.equal(keysBefore);
      // Inside touchInterval a check writes nothing, so Redis still answers it.
      expect((await me(t, tokens.access_token)).status).to.equal(200);
      // A touch due is a write: refused by Redis, so the request is a 503, never a 500 or an accepted write.
      t.clock.advance(2 * MINUTE);
      expectError(await me(t, tokens.access_token), 503, "store_unavailable");
      // Deletions are allowed when Redis is full: a logout still works.
      const out = await request(t.app).post(`${MOUNT}/logout`).set("Authorization", `Bearer ${tokens.access_token}`);
      expect(out.status).to.equal(204);
    } finally {
      await client.config("SET", "maxmemory", "0");
    }
    expectError(await me(t, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
    expect(await client.dbsize()).to.equal(0);
  });

  it('onStoreError "allow": a verified JWT passes without the check, with a store_error event; a bad token is still rejected', async () => {
    app("allow");
    const tokens = await login(t, "alice");
    await node.stop();
    const { result, ms } = await timed(() => me(t, tokens.access_token));
    expect(result.status).to.equal(200);
    expect(result.body.userId).to.equal("alice");
    expect(result.body.id).to.equal(tokens.session.id);
    expect(ms).to.be.below(STORE_TIMEOUT + MARGIN);
    expect(t.eventsOf("store_error").map((e) => [e.operation, e.sessionId, e.userId])).to.deep.equal([
      ["check", tokens.session.id, "alice"],
    ]);
    expectError(await request(t.app).get("/me").set("Authorization", "Bearer x.y.z"), 401, "token_invalid", { tokenPresented: true });
    // Routes that change state still need the store.
    expectError(await refresh(t, tokens.refresh_token), 503, "store_unavailable");
  });
});

describe("Redis persistence across a crash", function () {
  this.timeout(30_000);

  /** Logs in two sessions of alice, logs one out, kills Redis with SIGKILL and starts it again on the same files. */
  async function crashAfterLogout(persistence: string[], beforeCrash: (admin: Redis) => Promise<unknown>) {
    const dir = await mkdtemp(join(tmpdir(), "session-guard-persist-"));
    let node = await spawnRedisNode({ port: await freePort(), dir, args: persistence });
    const client = new Redis(node.url, { ...SAFE_CLIENT, retryStrategy: () => 50 });
    client.on("error", () => {});
    await ready(client);
    const t = buildApp({ clock: fakeClock(EPOCH), guard: { store: new RedisStore({ client, prefix: "sg:" }) } });
    try {
      const kept = await login(t, "alice");
      const ended = await login(t, "alice");
      await beforeCrash(client);
      const out = await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(ended.access_token));
      expect(out.status).to.equal(204);
      process.kill(node.pid, "SIGKILL");
      await node.exited;
      node = await spawnRedisNode({ port: node.port, dir, args: persistence });
      await ready(client);
      return { kept: (await me(t, kept.access_token)).status, ended: (await me(t, ended.access_token)).status };
    } finally {
      await t.guard.close();
      client.disconnect();
      await node.stop();
    }
  }

  it("with AOF (appendfsync always) a logout survives the crash and live sessions stay", async () => {
    const statuses = await crashAfterLogout(["--appendonly", "yes", "--appendfsync", "always"], async () => {});
    expect(statuses).to.deep.equal({ kept: 200, ended: 401 });
  });

  it("with RDB snapshots only, a logout after the last snapshot is lost: the revoked session is accepted again", async () => {
    // Why the README asks for AOF: a snapshot restores sessions that were revoked after it was taken.
    const statuses = await crashAfterLogout([], (admin) => admin.call("SAVE"));
    expect(statuses).to.deep.equal({ kept: 200, ended: 200 });
  });
});
