import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { commandCount, commandStats, flushRedis, recordCommands, sharedRedis, startRedis } from "./redis-server.js";
import { fakeClock, EPOCH, HOUR } from "./clock.js";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("test support", () => {
  describe("fake clock", () => {
    it("starts at the fixed epoch and moves only when told", () => {
      const clock = fakeClock();
      expect(clock.now()).to.equal(EPOCH);
      expect(clock.advance(HOUR)).to.equal(EPOCH + HOUR);
      const { now } = clock;
      expect(now()).to.equal(EPOCH + HOUR);
      expect(clock.set(EPOCH + 5)).to.equal(EPOCH + 5);
      expect(() => clock.advance(-1)).to.throw(RangeError);
    });
  });

  describe("redis-server fixture", () => {
    it("starts a private server on a loopback port and stops it by pid", async () => {
      const node = await startRedis();
      expect(node.url).to.equal(`redis://127.0.0.1:${node.port}`);
      expect(isRunning(node.pid)).to.equal(true);
      const client = new Redis(node.url);
      try {
        expect(await client.ping()).to.equal("PONG");
        const config = (await client.config("GET", "save")) as string[];
        expect(config).to.deep.equal(["save", ""]);
        expect(await client.config("GET", "appendonly")).to.deep.equal(["appendonly", "no"]);
      } finally {
        client.disconnect();
      }
      await node.stop();
      expect(isRunning(node.pid)).to.equal(false);
      expect(existsSync(node.dir)).to.equal(false);
      await node.stop(); // idempotent
    });

    it("starts from a config file written into its directory, command-line settings on top", async () => {
      const node = await startRedis({ config: "maxmemory-policy allkeys-lru\nport 1\n" });
      const client = new Redis(node.url);
      try {
        expect(await client.config("GET", "maxmemory-policy")).to.deep.equal(["maxmemory-policy", "allkeys-lru"]);
        expect(readFileSync(join(node.dir, "redis.conf"), "utf8")).to.contain("maxmemory-policy allkeys-lru");
      } finally {
        client.disconnect();
        await node.stop();
      }
    });

    it("shares one lazily started server across the run", async () => {
      const [a, b] = await Promise.all([sharedRedis(), sharedRedis()]);
      expect(a).to.equal(b);
      expect(isRunning(a.pid)).to.equal(true);
    });

    it("counts commands from INFO commandstats, script internals included", async () => {
      const node = await sharedRedis();
      const client = new Redis(node.url);
      try {
        await flushRedis(client, { scripts: true });
        await client.config("RESETSTAT");
        const before = await commandCount(client);
        await client.set("support:k", "1");
        await client.eval("redis.call('hset', KEYS[1], 'a', '1') return 1", 1, "support:h");
        expect((await commandCount(client)) - before).to.equal(3); // set + eval + hset inside it
        expect(await commandCount(client, ["eval"])).to.equal(1);
        expect((await commandStats(client)).get("hset")).to.equal(1);
        await flushRedis(client);
        expect(await client.dbsize()).to.equal(0);
      } finally {
        client.disconnect();
      }
    });

    it("records round trips apart from the commands scripts run", async () => {
      const node = await sharedRedis();
      const client = new Redis(node.url);
      try {
        const { result, roundTrips, commands } = await recordCommands(node.url, async () => {
          await client.set("support:a", "1");
          return client.eval("redis.call('get', KEYS[1]) return 7", 1, "support:a");
        });
        expect(result).to.equal(7);
        expect(roundTrips.map((c) => c.name)).to.deep.equal(["set", "eval"]);
        expect(commands.map((c) => [c.name, c.fromScript])).to.deep.equal([
          ["set", false],
          ["eval", false],
          ["get", true],
        ]);
      } finally {
        client.disconnect();
      }
    });
  });
});
