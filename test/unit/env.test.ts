/** `sessionGuard.fromEnv`: every variable, overrides, and the Redis client it owns. */
import { expect } from "chai";
import { Redis } from "ioredis";
import { MemoryStore, RedisStore, sessionGuard } from "../../lib/index.js";
import { guardInternals } from "../../lib/http/guard.js";
import { DAY, HOUR, MINUTE } from "../support/clock.js";
import { startRedis } from "../support/redis-server.js";

const SECRET = "env-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const store = () => new MemoryStore({ sweepInterval: 0 });
const configOf = (env: Record<string, string | undefined>, overrides = {}) =>
  guardInternals(sessionGuard.fromEnv(env, { store: store(), ...overrides }))!.config;

describe("sessionGuard.fromEnv", () => {
  it("reads every variable", () => {
    const c = configOf({
      SESSION_SECRET: SECRET,
      SESSION_ACCESS_TOKEN_TTL: "5m",
      SESSION_IDLE_TIMEOUT: "2h",
      SESSION_ABSOLUTE_LIFETIME: "7d",
      SESSION_REMEMBER_ME_IDLE_TIMEOUT: "14d",
      SESSION_REMEMBER_ME_LIFETIME: "90d",
      SESSION_MAX_PER_USER: "5",
    });
    expect(c.accessTokenTtl).to.equal(5 * MINUTE);
    expect(c.standard).to.deep.equal({ idleTimeout: 2 * HOUR, absoluteLifetime: 7 * DAY });
    expect(c.remembered).to.deep.equal({ idleTimeout: 14 * DAY, absoluteLifetime: 90 * DAY });
    expect(c.maxSessionsPerUser).to.equal(5);
  });

  it("takes plain numbers as milliseconds, and null/never to switch a deadline off", () => {
    const c = configOf({
      SESSION_SECRET: SECRET,
      SESSION_ACCESS_TOKEN_TTL: "60000",
      SESSION_IDLE_TIMEOUT: "never",
      SESSION_ABSOLUTE_LIFETIME: "null",
      SESSION_MAX_PER_USER: "0",
    });
    expect(c.accessTokenTtl).to.equal(60_000);
    expect(c.standard).to.deep.equal({ idleTimeout: null, absoluteLifetime: null });
    expect(c.maxSessionsPerUser).to.equal(null);
  });

  it("SESSION_ALLOW_FOREVER wins over the remember-me deadlines", () => {
    for (const value of ["true", "1", "yes", "TRUE"]) {
      const c = configOf({
        SESSION_SECRET: SECRET,
        SESSION_REMEMBER_ME_IDLE_TIMEOUT: "14d",
        SESSION_REMEMBER_ME_LIFETIME: "90d",
        SESSION_ALLOW_FOREVER: value,
      });
      expect(c.remembered, value).to.deep.equal({ idleTimeout: null, absoluteLifetime: null });
    }
    const off = configOf({ SESSION_SECRET: SECRET, SESSION_REMEMBER_ME_LIFETIME: "90d", SESSION_ALLOW_FOREVER: "false" });
    expect(off.remembered).to.deep.equal({ idleTimeout: 30 * DAY, absoluteLifetime: 90 * DAY });
  });

  it("unset or blank variables leave the defaults", () => {
    const c = configOf({ SESSION_SECRET: SECRET, SESSION_IDLE_TIMEOUT: "", SESSION_MAX_PER_USER: "  " });
    expect(c.standard).to.deep.equal({ idleTimeout: DAY, absoluteLifetime: 30 * DAY });
    expect(c.maxSessionsPerUser).to.equal(100);
    expect(c.accessTokenTtl).to.equal(15 * MINUTE);
  });

  it("rejects bad values with a TypeError naming the setting", () => {
    expect(() => configOf({ SESSION_SECRET: SECRET, SESSION_ALLOW_FOREVER: "maybe" })).to.throw(TypeError, /SESSION_ALLOW_FOREVER/);
    expect(() => configOf({ SESSION_SECRET: SECRET, SESSION_MAX_PER_USER: "many" })).to.throw(TypeError, /SESSION_MAX_PER_USER/);
    expect(() => configOf({ SESSION_SECRET: SECRET, SESSION_IDLE_TIMEOUT: "soon" })).to.throw(TypeError, /idleTimeout/);
    expect(() => configOf({ SESSION_SECRET: "short" })).to.throw(TypeError, /`secret`/);
    expect(() => configOf({})).to.throw(TypeError, /`secret`/);
  });

  it("overrides win over the environment; overrides.jwt replaces SESSION_SECRET", () => {
    const c = configOf(
      { SESSION_SECRET: SECRET, SESSION_IDLE_TIMEOUT: "2h", SESSION_MAX_PER_USER: "5" },
      { idleTimeout: "3h", maxSessionsPerUser: 9 },
    );
    expect(c.standard.idleTimeout).to.equal(3 * HOUR);
    expect(c.maxSessionsPerUser).to.equal(9);
    const other = "override-secret-0123456789-abcdefghijklmnopqrstu";
    const withJwt = configOf({ SESSION_SECRET: SECRET }, { jwt: { secret: other, issuer: "https://i.example" } });
    expect(withJwt.issuer).to.equal("https://i.example");
    expect(withJwt.keys.signing.key.export().toString()).to.equal(other);
  });

  it("defaults to process.env", () => {
    const saved = process.env.SESSION_SECRET;
    process.env.SESSION_SECRET = SECRET;
    try {
      const guard = sessionGuard.fromEnv(undefined, { store: store() });
      expect(guardInternals(guard)!.config.keys.signing.key.export().toString()).to.equal(SECRET);
    } finally {
      if (saved === undefined) delete process.env.SESSION_SECRET;
      else process.env.SESSION_SECRET = saved;
    }
  });

  it("REDIS_URL makes a RedisStore whose client guard.close() closes", async () => {
    const node = await startRedis();
    const admin = new Redis(node.url);
    const clients = async () => Number(/connected_clients:(\d+)/.exec(await admin.info("clients"))![1]);
    try {
      const guard = sessionGuard.fromEnv({ SESSION_SECRET: SECRET, REDIS_URL: node.url });
      expect(guardInternals(guard)!.config.store).to.be.instanceOf(RedisStore);
      const tokens = await guard.sessions.create("alice");
      expect((await guard.sessions.verify(tokens.access_token)).userId).to.equal("alice");
      expect(await admin.dbsize()).to.equal(2);
      expect(await clients()).to.equal(2);
      await guard.close();
      // QUIT was answered; the server drops the connection right after.
      const deadline = Date.now() + 5000;
      while ((await clients()) !== 1 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(await clients()).to.equal(1);
    } finally {
      admin.disconnect();
      await node.stop();
    }
  });

  it("invalid options from the environment leave no Redis client behind", async () => {
    const node = await startRedis();
    const admin = new Redis(node.url);
    const clients = async () => Number(/connected_clients:(\d+)/.exec(await admin.info("clients"))![1]);
    try {
      expect(() => sessionGuard.fromEnv({ SESSION_SECRET: "too-short", REDIS_URL: node.url })).to.throw(TypeError, /secret/);
      const deadline = Date.now() + 5000;
      while ((await clients()) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(await clients()).to.equal(1);
    } finally {
      admin.disconnect();
      await node.stop();
    }
  });

  it("SESSION_REFRESH_SECRET becomes refreshSecret", () => {
    const refreshKey = Buffer.from("r".repeat(40));
    const c = guardInternals(
      sessionGuard.fromEnv({ SESSION_SECRET: SECRET, SESSION_REFRESH_SECRET: "r".repeat(40) }, { store: store() }),
    )!.config;
    expect(c.refreshKey.export().equals(refreshKey)).to.equal(true);
  });

  it("an explicit store override means no Redis client is made from REDIS_URL", () => {
    const mine = store();
    const c = guardInternals(sessionGuard.fromEnv({ SESSION_SECRET: SECRET, REDIS_URL: "redis://127.0.0.1:1" }, { store: mine }))!.config;
    expect(c.store).to.equal(mine);
  });
});
