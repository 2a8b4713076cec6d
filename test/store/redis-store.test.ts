/**
 * Redis-only behaviour of `RedisStore`, beyond the shared store contract:
 * script cache recovery, the TTLs it sets, its round trips, the warnings about
 * the client it is given, and the client it owns. Runs against a real
 * `redis-server`; time is the fake clock, so PTTLs are checked within a
 * margin for the real time the test itself takes.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Redis } from "ioredis";
import { RedisStore } from "../../lib/stores/redis.js";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import type { SessionRecord } from "../../lib/stores/store.js";
import { DAY, HOUR, MINUTE, SECOND, fakeClock } from "../support/clock.js";
import { recordCommands, sharedRedis, spawnRedisNode, startRedis, type RedisNode } from "../support/redis-server.js";

const USER = "user {1}: ü";
const BASE = userKeyBase("sg:", USER);
const INDEX = indexKey(BASE);
/** Real milliseconds a test may take between a write and reading its PTTL. */
const MARGIN = 2 * SECOND;

function digest(label: string): string {
  return label.padEnd(43, "A");
}

function record(id: string, now: number, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    userId: USER,
    createdAt: now,
    lastUsedAt: now,
    idleTimeout: DAY,
    absoluteLifetime: 30 * DAY,
    rememberMe: false,
    claims: '{"role":"admin"}',
    data: "",
    ip: "203.0.113.9",
    userAgent: "Mozilla/5.0",
    ...extra,
  };
}

function expectPttl(actual: number, expected: number): void {
  expect(actual).to.be.at.most(expected);
  expect(actual).to.be.above(expected - MARGIN);
}

/** Collects SessionGuardWarning codes emitted while a test runs. */
function collectWarnings(): { codes: string[]; stop: () => void } {
  const codes: string[] = [];
  const listener = (warning: Error & { code?: string }): void => {
    if (warning.name === "SessionGuardWarning" && warning.code) codes.push(warning.code);
  };
  process.on("warning", listener);
  return { codes, stop: () => process.off("warning", listener) };
}

/** Lets pending `process.emitWarning` events (emitted on the next tick) arrive. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe("RedisStore (Redis only)", () => {
  let node: RedisNode;
  let redis: Redis;
  let store: RedisStore;

  before(async () => {
    node = await sharedRedis();
    redis = new Redis(node.url, { enableOfflineQueue: false, commandTimeout: 2000, lazyConnect: true });
    await redis.connect();
  });

  beforeEach(async () => {
    await redis.flushall();
    await redis.script("FLUSH");
    store = new RedisStore({ client: redis });
  });

  after(async () => {
    await redis.quit();
  });

  describe("scripts", () => {
    it("recovers from SCRIPT FLUSH between two calls (NOSCRIPT → EVAL)", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await redis.script("FLUSH");
      expect(await store.check(USER, "s1", clock.now(), MINUTE)).to.include({ id: "s1" });
      await redis.script("FLUSH");
      expect((await store.list(USER, clock.now())).map((r) => r.id)).to.deep.equal(["s1"]);
    });

    it("check costs one round trip and writes nothing until the touch is due", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await store.check(USER, "s1", clock.now(), MINUTE); // loads the script
      clock.advance(30 * SECOND);
      const quiet = await recordCommands(node.url, () => store.check(USER, "s1", clock.now(), MINUTE));
      expect(quiet.roundTrips.map((c) => c.name)).to.deep.equal(["evalsha"]);
      expect(quiet.commands.map((c) => c.name)).to.deep.equal(["evalsha", "hmget"]);
      clock.advance(30 * SECOND);
      const touch = await recordCommands(node.url, () => store.check(USER, "s1", clock.now(), MINUTE));
      expect(touch.roundTrips.map((c) => c.name)).to.deep.equal(["evalsha"]);
      expect(touch.commands.map((c) => c.name)).to.include.members(["hset", "zadd", "pexpire"]);
      expect(touch.result!.lastUsedAt).to.equal(clock.now());
    });

    it("never stores a refresh digest the caller could present whole, nor the user id", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("secret"), maxSessions: null, now: clock.now() });
      const fields = await redis.hgetall(sessionKey(BASE, "s1"));
      expect(Object.values(fields)).not.to.include(digest("secret"));
      expect(Object.values(fields)).not.to.include(USER);
    });
  });

  describe("expiries", () => {
    it("sets the session and index TTLs at the deadline and slides them on touch", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      expectPttl(await redis.pttl(sessionKey(BASE, "s1")), DAY);
      expectPttl(await redis.pttl(INDEX), DAY);
      clock.advance(12 * 60 * MINUTE);
      await store.check(USER, "s1", clock.now(), MINUTE);
      expectPttl(await redis.pttl(sessionKey(BASE, "s1")), DAY);
      expectPttl(await redis.pttl(INDEX), DAY);
    });

    it("caps the sliding TTL at the absolute deadline", async () => {
      const clock = fakeClock();
      const start = clock.now();
      await store.create({ record: record("s1", start, { absoluteLifetime: DAY + HOUR }), refreshHash: digest("a"), maxSessions: null, now: start });
      clock.advance(20 * 60 * MINUTE);
      await store.check(USER, "s1", clock.now(), MINUTE);
      expectPttl(await redis.pttl(sessionKey(BASE, "s1")), start + DAY + HOUR - clock.now());
    });

    it("extends the index on rotation, and keeps it at the furthest deadline on create and list", async () => {
      const clock = fakeClock();
      await store.create({ record: record("long", clock.now(), { idleTimeout: 7 * DAY }), refreshHash: digest("l"), maxSessions: null, now: clock.now() });
      await store.create({ record: record("short", clock.now()), refreshHash: digest("s"), maxSessions: null, now: clock.now() });
      expectPttl(await redis.pttl(INDEX), 7 * DAY);
      clock.advance(DAY + 1); // "short" is dead now
      expect((await store.list(USER, clock.now())).map((r) => r.id)).to.deep.equal(["long"]);
      expectPttl(await redis.pttl(INDEX), 6 * DAY - 1);
      expect(await redis.exists(sessionKey(BASE, "short"))).to.equal(0);
      const rotated = await store.rotate({
        userId: USER, sessionId: "long", generation: 0, presentedHash: digest("l"), successorHash: digest("l1"),
        now: clock.now(), reuseWindow: 10 * SECOND, ip: "", userAgent: "",
      });
      expect(rotated.status).to.equal("rotated");
      expectPttl(await redis.pttl(sessionKey(BASE, "long")), 7 * DAY);
      expectPttl(await redis.pttl(INDEX), 7 * DAY);
    });

    it("gives a forever session and its index no TTL, and a touch adds none", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await store.create({
        record: record("f", clock.now(), { idleTimeout: null, absoluteLifetime: null, rememberMe: true }),
        refreshHash: digest("f"), maxSessions: null, now: clock.now(),
      });
      expect(await redis.pttl(sessionKey(BASE, "f"))).to.equal(-1);
      expect(await redis.pttl(INDEX)).to.equal(-1);
      clock.advance(2 * MINUTE);
      await store.check(USER, "s1", clock.now(), MINUTE);
      await store.check(USER, "f", clock.now(), MINUTE);
      expect(await redis.pttl(sessionKey(BASE, "f"))).to.equal(-1);
      expect(await redis.pttl(INDEX)).to.equal(-1);
      // Once the forever session is gone, the index gets a TTL again.
      await store.revoke(USER, "f", clock.now());
      await store.list(USER, clock.now());
      expectPttl(await redis.pttl(INDEX), DAY);
    });

    it("gives a touched session whose index vanished an index with a TTL", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await redis.del(INDEX);
      clock.advance(MINUTE);
      await store.check(USER, "s1", clock.now(), MINUTE);
      expectPttl(await redis.pttl(INDEX), DAY);
    });

    it("revokeAll leaves the index expiring with the session it kept, or deletes it", async () => {
      const clock = fakeClock();
      await store.create({ record: record("a", clock.now(), { idleTimeout: 7 * DAY }), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await store.create({ record: record("b", clock.now()), refreshHash: digest("b"), maxSessions: null, now: clock.now() });
      expect(await store.revokeAll(USER, "b", clock.now())).to.deep.equal(["a"]);
      expectPttl(await redis.pttl(INDEX), DAY);
      expect(await store.revokeAll(USER, undefined, clock.now())).to.deep.equal(["b"]);
      expect(await redis.exists(INDEX)).to.equal(0);
    });

    it("keeps a session small in Redis memory", async () => {
      const clock = fakeClock();
      const sid = "AAAAAAAAAAAAAAAAAAAAAA";
      await store.create({ record: record(sid, clock.now(), { claims: "" }), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await store.rotate({
        userId: USER, sessionId: sid, generation: 0, presentedHash: digest("a"), successorHash: digest("b"),
        now: clock.now(), reuseWindow: 10 * SECOND, ip: "203.0.113.9", userAgent: "Mozilla/5.0",
      });
      const bytes = Number(await redis.call("MEMORY", "USAGE", sessionKey(BASE, sid)));
      expect(bytes).to.be.at.most(300);
    });
  });

  describe("options", () => {
    it("rejects bad options with a TypeError naming the option", () => {
      expect(() => new RedisStore({} as never)).to.throw(TypeError, /client.*url/);
      expect(() => new RedisStore({ client: redis, url: node.url })).to.throw(TypeError, /either `client` or `url`/);
      expect(() => new RedisStore({ url: "" })).to.throw(TypeError, /`url`/);
      expect(() => new RedisStore({ client: {} as never })).to.throw(TypeError, /`client`/);
      expect(() => new RedisStore({ client: redis, prefix: "" })).to.throw(TypeError, /`prefix`/);
      expect(() => new RedisStore({ client: redis, prefix: "a{b}:" })).to.throw(TypeError, /`prefix`/);
      expect(() => new RedisStore({ client: redis, commandTimeout: 100 })).to.throw(TypeError, /`commandTimeout`/);
      expect(() => new RedisStore({ url: node.url, commandTimeout: -1 })).to.throw(TypeError, /`commandTimeout`/);
      expect(() => new RedisStore({ client: redis, prefx: "x" } as never)).to.throw(TypeError, /`prefx`/);
    });

    it("keeps stores with different prefixes apart", async () => {
      const clock = fakeClock();
      const other = new RedisStore({ client: redis, prefix: "other:" });
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      expect(await other.get(USER, "s1", clock.now())).to.equal(null);
      expect(await store.get(USER, "s1", clock.now())).to.include({ id: "s1" });
    });
  });

  describe("warnings about a given client", () => {
    it("warns once per store about an offline queue and a missing commandTimeout", async () => {
      const warnings = collectWarnings();
      const loose = new Redis(node.url, { lazyConnect: true });
      try {
        new RedisStore({ client: loose });
        await settle();
        expect(warnings.codes).to.have.members(["SESSION_GUARD_REDIS_OFFLINE_QUEUE", "SESSION_GUARD_REDIS_NO_COMMAND_TIMEOUT"]);
        warnings.codes.length = 0;
        new RedisStore({ client: redis });
        await settle();
        expect(warnings.codes).to.deep.equal([]);
      } finally {
        warnings.stop();
        loose.disconnect();
      }
    });

    it("warns about a maxmemory-policy that can evict sessions, and not about noeviction", async () => {
      const own = await startRedis({ args: ["--maxmemory-policy", "volatile-lru"] });
      const client = new Redis(own.url, { enableOfflineQueue: false, commandTimeout: 2000, lazyConnect: true });
      const warnings = collectWarnings();
      try {
        await client.connect();
        const seen = new Promise<void>((resolve) => {
          const listener = (w: Error & { code?: string }): void => {
            if (w.code === "SESSION_GUARD_REDIS_EVICTION_POLICY") {
              process.off("warning", listener);
              resolve();
            }
          };
          process.on("warning", listener);
        });
        const evicting = new RedisStore({ client });
        expect(await evicting.get(USER, "s1", Date.now())).to.equal(null);
        await seen;
        expect(warnings.codes.filter((c) => c === "SESSION_GUARD_REDIS_EVICTION_POLICY")).to.have.length(1);

        warnings.codes.length = 0;
        await client.config("SET", "maxmemory-policy", "noeviction");
        const safe = new RedisStore({ client });
        expect(await safe.get(USER, "s1", Date.now())).to.equal(null);
        await client.ping(); // the CONFIG GET reply precedes this one on the connection
        await settle();
        expect(warnings.codes).to.deep.equal([]);
      } finally {
        warnings.stop();
        client.disconnect();
        await own.stop();
      }
    });

    it("never closes a client it was given", async () => {
      const given = new RedisStore({ client: redis });
      await given.close();
      expect(await redis.ping()).to.equal("PONG");
    });
  });

  describe("a client made from url", () => {
    it("works right after construction and is closed by close()", async () => {
      const clock = fakeClock();
      const owned = new RedisStore({ url: node.url });
      try {
        await owned.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
        expect(await owned.check(USER, "s1", clock.now(), MINUTE)).to.include({ id: "s1" });
      } finally {
        await owned.close();
      }
      let error: unknown;
      try {
        await owned.get(USER, "s1", clock.now());
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(Error);
      await owned.close(); // idempotent
    });

    it("fails fast, without hanging, when Redis is unreachable, and recovers when it comes", async () => {
      const own = await startRedis();
      const port = own.port;
      await own.stop();
      const owned = new RedisStore({ url: `redis://127.0.0.1:${port}`, commandTimeout: 300 });
      try {
        const started = Date.now();
        let error: unknown;
        try {
          await owned.get(USER, "s1", Date.now());
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(Error);
        expect(Date.now() - started).to.be.below(2 * SECOND);

        // Redis comes back on the same port: the store reconnects by itself.
        const back = await spawnRedisNode({ port, dir: await mkdtemp(join(tmpdir(), "session-guard-redis-")) });
        try {
          const deadline = Date.now() + 10 * SECOND;
          for (;;) {
            try {
              expect(await owned.get(USER, "s1", Date.now())).to.equal(null);
              break;
            } catch (err) {
              if (Date.now() > deadline) throw err;
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        } finally {
          await back.stop();
        }
      } finally {
        await owned.close();
      }
    });
  });
});
