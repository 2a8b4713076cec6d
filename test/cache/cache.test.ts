// The local session cache against a real redis-server: two guards over one
// Redis, each with its own clients, stand in for two processes (the
// separate-process run is test/scale/processes.test.ts). Deadlines move with
// the fake clock; only the pub/sub messages travel in real time, so waits
// poll for a state with a bound, never sleep for a fixed time.
import { expect } from "chai";
import { Redis } from "ioredis";
import request from "supertest";
import { MemoryStore, RedisStore, sessionGuard } from "../../lib/index.js";
import type { InvalidationListener, SessionGuardOptions, SessionRecord, Store } from "../../lib/index.js";
import { buildApp, expectError, login, me, ready, refresh, SAFE_CLIENT, SECRET, type TestApp } from "../http/app.js";
import { fakeClock, MINUTE, SECOND, type FakeClock } from "../support/clock.js";
import { indexKey, userKeyBase } from "../../lib/stores/keys.js";
import { connectCluster, sharedCluster } from "../support/redis-cluster.js";
import { commandCount, sharedRedis } from "../support/redis-server.js";

/** Polls `condition` every few milliseconds until it holds, failing after `timeoutMs`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let prefixes = 0;

interface Pair {
  /** The guard with the cache. */
  cached: TestApp;
  /** Another "process": no cache, its own client, the same Redis and prefix. */
  other: TestApp;
  inspect: Redis;
  prefix: string;
  clock: FakeClock;
  close(): Promise<void>;
}

interface PairOptions {
  ttl?: string;
  max?: number;
  /** More options of the guard with the cache. */
  guard?: Partial<SessionGuardOptions>;
  wrap?: (store: RedisStore) => Store;
}

async function pair(options: PairOptions = {}): Promise<Pair> {
  const node = await sharedRedis();
  const prefix = `cache${process.pid}-${++prefixes}:`;
  const clients = [new Redis(node.url, SAFE_CLIENT), new Redis(node.url, SAFE_CLIENT), new Redis(node.url, SAFE_CLIENT)];
  await Promise.all(clients.map(ready));
  const [cachedClient, otherClient, inspect] = clients;
  const clock = fakeClock();
  const cachedStore = new RedisStore({ client: cachedClient, prefix });
  const cached = buildApp({
    clock,
    guard: {
      store: options.wrap ? options.wrap(cachedStore) : cachedStore,
      cache: { ttl: options.ttl ?? "5s", ...(options.max === undefined ? {} : { max: options.max }) },
      ...options.guard,
    },
  });
  const other = buildApp({ clock, guard: { store: new RedisStore({ client: otherClient, prefix }) } });
  await until(() => cached.guard.cache!.subscribed, "the cache follows revocations");
  return {
    cached,
    other,
    inspect,
    prefix,
    clock,
    close: async () => {
      await cached.guard.close();
      await other.guard.close();
      await Promise.all(clients.map((c) => c.quit()));
    },
  };
}

const scriptCalls = (client: Redis) => commandCount(client, ["evalsha", "eval"]);

describe("local session cache", () => {
  describe("answering from memory", () => {
    let p: Pair;
    beforeEach(async () => (p = await pair()));
    afterEach(() => p.close());

    it("answers a session's next requests without Redis until ttl has passed since Redis confirmed it", async () => {
      const tokens = await login(p.cached, "ada");
      expect((await me(p.cached, tokens.access_token)).status).to.equal(200); // miss: confirmed by Redis
      const before = await scriptCalls(p.inspect);
      for (let i = 0; i < 20; i++) expect((await me(p.cached, tokens.access_token)).status).to.equal(200);
      expect(await scriptCalls(p.inspect)).to.equal(before);
      expect(p.cached.guard.cache!.hits).to.equal(20);
      expect(p.cached.guard.cache!.size).to.equal(1);

      p.clock.advance(4999);
      expect((await me(p.cached, tokens.access_token)).status).to.equal(200);
      expect(await scriptCalls(p.inspect)).to.equal(before);
      p.clock.advance(1); // 5 s after the confirmation: Redis is asked again
      expect((await me(p.cached, tokens.access_token)).status).to.equal(200);
      expect(await scriptCalls(p.inspect)).to.equal(before + 1);
    });

    it("a cached hit still carries the session: id, user, claims, data and deadlines", async () => {
      const tokens = await login(p.cached, "ada");
      const first = await me(p.cached, tokens.access_token);
      const second = await me(p.cached, tokens.access_token);
      expect(second.status).to.equal(200);
      expect(second.body).to.deep.equal(first.body);
      expect(second.body.userId).to.equal("ada");
    });

    it("a token of another user naming a cached session id is not answered from the cache", async () => {
      const tokens = await login(p.cached, "ada");
      await me(p.cached, tokens.access_token);
      const sid = tokens.session.id;
      const forged = (await import("jsonwebtoken")).default.sign({ sid, typ: "at+jwt" }, SECRET, {
        subject: "mallory",
        expiresIn: 600,
        header: { alg: "HS256", typ: "at+jwt" },
      });
      const res = await me(p.cached, forged);
      expect(res.status).to.not.equal(200);
    });
  });

  describe("revocations made elsewhere", () => {
    let p: Pair;
    beforeEach(async () => (p = await pair({ ttl: "1h" })));
    afterEach(() => p.close());

    async function cachedSession(user: string) {
      const tokens = await login(p.other, user);
      expect((await me(p.cached, tokens.access_token)).status).to.equal(200);
      expect((await me(p.cached, tokens.access_token)).status).to.equal(200);
      return tokens;
    }

    const refused = async (token: string) => (await me(p.cached, token)).status === 401;

    it("a logout in another process drops the session from the cache", async () => {
      const tokens = await cachedSession("ada");
      const res = await request(p.other.app).post("/auth/logout").set("Authorization", `Bearer ${tokens.access_token}`);
      expect(res.status).to.equal(204);
      await until(() => p.cached.guard.cache!.size === 0, "the invalidation arrives");
      expectError(await me(p.cached, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
    });

    it("revokeAll drops every session of the user and no one else's", async () => {
      const a1 = await cachedSession("ada");
      const a2 = await cachedSession("ada");
      const g = await cachedSession("grace");
      expect(p.cached.guard.cache!.size).to.equal(3);
      expect(await p.other.guard.sessions.revokeAll("ada")).to.equal(2);
      await until(() => p.cached.guard.cache!.size === 1, "the user invalidation arrives");
      expect(await refused(a1.access_token)).to.equal(true);
      expect(await refused(a2.access_token)).to.equal(true);
      const before = await scriptCalls(p.inspect);
      expect((await me(p.cached, g.access_token)).status).to.equal(200);
      expect(await scriptCalls(p.inspect)).to.equal(before); // grace still from memory
    });

    it("revokeOthers, revoke by id, eviction, reuse detection and a refresh-token logout each drop the session", async () => {
      // revokeOthers
      const keep = await cachedSession("u1");
      const gone = await cachedSession("u1");
      const res = await request(p.other.app)
        .post("/auth/logout-all")
        .set("Authorization", `Bearer ${keep.access_token}`)
        .send({ keep_current: true });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ revoked: 1 });
      await until(() => refused(gone.access_token), "revokeOthers reaches the cache");

      // revoke by id
      const byId = await cachedSession("u2");
      expect(await p.other.guard.sessions.revoke(byId.session.id, "u2")).to.equal(true);
      await until(() => refused(byId.access_token), "revoke by id reaches the cache");

      // eviction: a third "process" that keeps one session per user
      const evictApp = buildApp({
        clock: p.clock,
        guard: { store: new RedisStore({ client: p.inspect, prefix: p.prefix }), maxSessionsPerUser: 1 },
      });
      const first = await login(evictApp, "u3");
      expect((await me(p.cached, first.access_token)).status).to.equal(200);
      await login(evictApp, "u3"); // evicts the first
      await until(() => refused(first.access_token), "an eviction reaches the cache");

      // reuse detection: the spent token presented outside the reuse window
      const reused = await cachedSession("u4");
      expect((await refresh(p.other, reused.refresh_token)).status).to.equal(200);
      p.clock.advance(11 * SECOND);
      expectError(await refresh(p.other, reused.refresh_token), 401, "refresh_token_reused");
      await until(() => refused(reused.access_token), "reuse detection reaches the cache");

      // logout with the refresh token only
      const byRefresh = await cachedSession("u5");
      const out = await request(p.other.app).post("/auth/logout").send({ refresh_token: byRefresh.refresh_token });
      expect(out.status).to.equal(204);
      await until(() => refused(byRefresh.access_token), "a refresh-token logout reaches the cache");
    });

    it("a revocation in this process is refused on its very next request, before any message", async () => {
      const tokens = await login(p.cached, "ada");
      await me(p.cached, tokens.access_token);
      const res = await request(p.cached.app).post("/auth/logout").set("Authorization", `Bearer ${tokens.access_token}`);
      expect(res.status).to.equal(204);
      expectError(await me(p.cached, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
    });
  });

  describe("the race: a check's reply that arrives after an invalidation", () => {
    it("is not cached: the next request asks Redis and is refused", async () => {
      // A RedisStore whose check replies are held back until the test lets them go.
      let hold = false;
      let release: () => void = () => {};
      let held = false;
      let invalidationsSeen = 0;
      const p = await pair({
        ttl: "1h",
        wrap: (store) =>
          new Proxy(store, {
            get(target, name) {
              if (name === "check") {
                return async (...args: Parameters<RedisStore["check"]>): Promise<SessionRecord | null> => {
                  const record = await target.check(...args);
                  if (hold) {
                    held = true;
                    await new Promise<void>((resolve) => (release = resolve));
                  }
                  return record;
                };
              }
              if (name === "subscribeInvalidations") {
                return (listener: InvalidationListener) =>
                  target.subscribeInvalidations({
                    ...listener,
                    connected: () => listener.connected(),
                    disconnected: () => listener.disconnected(),
                    everything: () => listener.everything(),
                    user: (u) => listener.user(u),
                    session: (sid) => {
                      listener.session(sid);
                      invalidationsSeen++;
                    },
                  });
              }
              const value = Reflect.get(target, name, target) as unknown;
              return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
            },
          }),
      });
      try {
        const tokens = await login(p.other, "ada");
        hold = true;
        const inFlight = me(p.cached, tokens.access_token).then((res) => res);
        // Redis has answered "live" (the check ran before the revocation), but the reply is held.
        await until(() => held, "the check's reply is held");
        expect(await p.other.guard.sessions.revoke(tokens.session.id, "ada")).to.equal(true);
        await until(() => invalidationsSeen === 1, "the invalidation arrives first");
        hold = false;
        release();
        expect((await inFlight).status).to.equal(200); // sent before the revocation: answered as Redis said then
        expect(p.cached.guard.cache!.size).to.equal(0); // but not cached
        expectError(await me(p.cached, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      } finally {
        await p.close();
      }
    });
  });

  describe("while the subscription is down", () => {
    let p: Pair;
    beforeEach(async () => (p = await pair({ ttl: "1h" })));
    afterEach(() => p.close());

    it("the cache is emptied and bypassed; a revocation made meanwhile is not accepted after it comes back", async () => {
      const tokens = await login(p.other, "ada");
      const kept = await login(p.other, "grace");
      await me(p.cached, tokens.access_token);
      await me(p.cached, kept.access_token);
      expect(p.cached.guard.cache!.size).to.equal(2);

      // Cut the subscriber's connection; it reconnects on its own after a while.
      await p.inspect.client("KILL", "TYPE", "pubsub");
      await until(() => !p.cached.guard.cache!.subscribed, "the cache notices");
      expect(p.cached.guard.cache!.size).to.equal(0);
      // A revocation whose message no one may receive, if made before the resubscription.
      expect(await p.other.guard.sessions.revoke(tokens.session.id, "ada")).to.equal(true);
      if (!p.cached.guard.cache!.subscribed) {
        const before = await scriptCalls(p.inspect);
        expect((await me(p.cached, kept.access_token)).status).to.equal(200);
        expect((await me(p.cached, kept.access_token)).status).to.equal(200);
        // Bypassed: every request asked Redis, and nothing was kept.
        expect(await scriptCalls(p.inspect)).to.equal(before + 2);
        expect(p.cached.guard.cache!.size).to.equal(0);
      }

      await until(() => p.cached.guard.cache!.subscribed, "the subscription is back", 5000);
      expectError(await me(p.cached, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      expect((await me(p.cached, kept.access_token)).status).to.equal(200);
      expect(p.cached.guard.cache!.size).to.equal(1); // fills again
    });
  });

  describe("deadlines, touches and bounds", () => {
    it("an idle timeout passes on a cached session: refused, and deleted in Redis", async () => {
      const p = await pair({ ttl: "1h", guard: { idleTimeout: "10m" } });
      try {
        const tokens = await login(p.cached, "ada");
        expect((await me(p.cached, tokens.access_token)).status).to.equal(200);
        p.clock.advance(10 * MINUTE);
        expectError(await me(p.cached, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
        expect(await p.inspect.exists(`${p.prefix}{${Buffer.from("ada").toString("base64url")}}:s:${tokens.session.id}`)).to.equal(0);
        expect(p.cached.guard.cache!.size).to.equal(0);
      } finally {
        await p.close();
      }
    });

    it("the last use still reaches Redis once per touchInterval, so idle sliding works", async () => {
      const p = await pair({ ttl: "1h", guard: { touchInterval: "30s" } });
      try {
        const tokens = await login(p.cached, "ada");
        const key = `${p.prefix}{${Buffer.from("ada").toString("base64url")}}:s:${tokens.session.id}`;
        const lastUsed = async () => (await p.cached.guard.sessions.get(tokens.session.id, "ada"))!.lastUsedAt.getTime();
        const start = await lastUsed();
        await me(p.cached, tokens.access_token);
        const before = await scriptCalls(p.inspect);
        p.clock.advance(29 * SECOND);
        await me(p.cached, tokens.access_token);
        expect(await scriptCalls(p.inspect)).to.equal(before); // from memory, no touch due
        p.clock.advance(1 * SECOND);
        await me(p.cached, tokens.access_token); // due: Redis touches
        expect(await scriptCalls(p.inspect)).to.equal(before + 1);
        expect(await lastUsed()).to.equal(start + 30 * SECOND);
        expect(await p.inspect.pttl(key)).to.be.greaterThan(0);
      } finally {
        await p.close();
      }
    });

    it("holds at most max sessions, dropping the least recently used", async () => {
      const p = await pair({ ttl: "1h", max: 2 });
      try {
        const a = await login(p.other, "a");
        const b = await login(p.other, "b");
        const c = await login(p.other, "c");
        await me(p.cached, a.access_token);
        await me(p.cached, b.access_token);
        await me(p.cached, a.access_token); // a is now the most recently used
        await me(p.cached, c.access_token); // evicts b
        expect(p.cached.guard.cache!.size).to.equal(2);
        const before = await scriptCalls(p.inspect);
        await me(p.cached, a.access_token);
        await me(p.cached, c.access_token);
        expect(await scriptCalls(p.inspect)).to.equal(before);
        await me(p.cached, b.access_token);
        expect(await scriptCalls(p.inspect)).to.equal(before + 1);
      } finally {
        await p.close();
      }
    });

    it("guard.close() unsubscribes", async () => {
      const p = await pair();
      const channel = `${p.prefix}invalidations`;
      expect(await p.inspect.pubsub("NUMSUB", channel)).to.deep.equal([channel, 1]);
      await p.close();
      const node = await sharedRedis();
      const check = new Redis(node.url, SAFE_CLIENT);
      await ready(check);
      expect(await check.pubsub("NUMSUB", channel)).to.deep.equal([channel, 0]);
      await check.quit();
    });
  });

  describe("on a Redis Cluster", () => {
    it("every master's revocations reach a guard whose subscriber is on one node", async function () {
      this.timeout(60_000);
      const cluster = await sharedCluster();
      const [cachedClient, otherClient] = await Promise.all([connectCluster(cluster), connectCluster(cluster)]);
      const prefix = `cachecl${process.pid}-${++prefixes}:`;
      const clock = fakeClock();
      const cached = buildApp({ clock, guard: { store: new RedisStore({ client: cachedClient, prefix }), cache: { ttl: "1h" } } });
      const other = buildApp({ clock, guard: { store: new RedisStore({ client: otherClient, prefix }) } });
      try {
        await until(() => cached.guard.cache!.subscribed, "the cache follows revocations", 10_000);
        // Users whose keys live on every master: the subscriber's node hears
        // the other masters' PUBLISH through the cluster bus.
        const users = Array.from({ length: 12 }, (_, i) => `user-${i}`);
        const masterOf = async (user: string) => {
          const slot = Number(await otherClient.cluster("KEYSLOT", indexKey(userKeyBase(prefix, user))));
          return cachedClient.slots[slot]![0];
        };
        expect(new Set(await Promise.all(users.map(masterOf))).size).to.equal(3);
        const sessions = [];
        for (const user of users) {
          const tokens = await login(other, user);
          expect((await me(cached, tokens.access_token)).status).to.equal(200);
          sessions.push({ user, tokens });
        }
        expect(cached.guard.cache!.size).to.equal(users.length);
        for (const [i, { user, tokens }] of sessions.entries()) {
          if (i % 2 === 0) expect(await other.guard.sessions.revoke(tokens.session.id, user)).to.equal(true);
          else expect(await other.guard.sessions.revokeAll(user)).to.equal(1);
        }
        await until(() => cached.guard.cache!.size === 0, "every invalidation arrives", 10_000);
        for (const { tokens } of sessions) {
          expectError(await me(cached, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
        }
      } finally {
        await cached.guard.close();
        await other.guard.close();
        cachedClient.disconnect();
        otherClient.disconnect();
      }
    });
  });

  describe("options", () => {
    const store = () => new RedisStore({ client: new Redis({ lazyConnect: true, enableOfflineQueue: false, commandTimeout: 100 }) });

    it("refuses a store that cannot publish revocations, and bad values, naming the option", () => {
      expect(() => sessionGuard({ secret: SECRET, store: new MemoryStore(), cache: { ttl: "5s" } })).to.throw(
        TypeError,
        /`cache` needs a store/,
      );
      expect(() => sessionGuard({ secret: SECRET, store: store(), cache: { ttl: 0 } })).to.throw(TypeError, /`cache.ttl`/);
      expect(() => sessionGuard({ secret: SECRET, store: store(), cache: { ttl: "2h" } })).to.throw(TypeError, /`cache.ttl`/);
      expect(() => sessionGuard({ secret: SECRET, store: store(), cache: { max: 0 } })).to.throw(TypeError, /`cache.max`/);
      expect(() => sessionGuard({ secret: SECRET, store: store(), cache: { max: 1.5 } })).to.throw(TypeError, /`cache.max`/);
      expect(() => sessionGuard({ secret: SECRET, store: store(), cache: { tll: "5s" } as never })).to.throw(
        TypeError,
        /`cache.tll`.*`cache.ttl`/,
      );
      expect(() => sessionGuard({ secret: SECRET, store: store(), cache: "5s" as never })).to.throw(TypeError, /`cache` must be an object/);
    });

    it("is off by default and with false; guard.cache tells", async () => {
      const off = sessionGuard({ secret: SECRET, store: new MemoryStore() });
      expect(off.cache).to.equal(undefined);
      const alsoOff = sessionGuard({ secret: SECRET, store: new MemoryStore(), cache: false });
      expect(alsoOff.cache).to.equal(undefined);
      const on = sessionGuard({ secret: SECRET, store: store(), cache: {} });
      expect(on.cache).to.include({ size: 0, max: 10_000, hits: 0, misses: 0 });
      expect(Object.isFrozen(on.cache)).to.equal(true);
      await Promise.all([off.close(), alsoOff.close(), on.close()]);
    });

    it("fromEnv reads SESSION_CACHE_TTL and SESSION_CACHE_MAX", async () => {
      const node = await sharedRedis();
      const env = { SESSION_SECRET: SECRET, REDIS_URL: node.url, SESSION_CACHE_TTL: "2s", SESSION_CACHE_MAX: "7" };
      const guard = sessionGuard.fromEnv(env);
      expect(guard.cache!.max).to.equal(7);
      await guard.close();
      const off = sessionGuard.fromEnv({ ...env, SESSION_CACHE_TTL: "off" });
      expect(off.cache).to.equal(undefined);
      await off.close();
      expect(() => sessionGuard.fromEnv({ ...env, SESSION_CACHE_MAX: "many" })).to.throw(TypeError, /SESSION_CACHE_MAX/);
    });
  });
});
