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
import { Cluster, Redis } from "ioredis";
import { RedisStore } from "../../lib/stores/redis.js";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import * as scripts from "../../lib/stores/scripts/index.js";
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

/** A typical browser user agent (110 characters). */
const BROWSER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/** Text with `|`, newlines, digits and multi-byte UTF-8 (2, 3 and 4 bytes), to break any delimiter-based parsing. */
function tricky(label: string): string {
  return `${label}|1|2|\n\r|ü€😀|${"|".repeat(3)}12|`;
}

/** A time or duration as the record writes it (format 2): base 36. */
const b36 = (ms: number): string => ms.toString(36);
/** lastUsedAt as the record writes it: base 36, zero-padded to 9 characters. */
const lu36 = (ms: number): string => b36(ms).padStart(9, "0");

/** The fields of a packed record (format 2, see lib/stores/redis.ts), decoded independently of the store. */
interface Packed {
  lu: string;
  ca: string;
  it: string;
  al: string;
  rm: string;
  g: string;
  rt: string;
  rc: string;
  rp: string;
  cl: string;
  da: string;
  ip: string;
  ua: string;
}

async function readPacked(redis: Redis, key: string): Promise<Packed> {
  const value = await redis.getBuffer(key);
  expect(value, `record at ${key}`).to.be.instanceOf(Buffer);
  const head = value!.toString("latin1").split("|", 14);
  expect(head[0], "format version").to.equal("2");
  let at = head.join("|").length + 1;
  const text = head.slice(10).map((n) => {
    expect(n, "a byte length").to.match(/^\d+$/);
    const out = value!.subarray(at, at + Number(n)).toString("utf8");
    at += Number(n);
    return out;
  });
  expect(at, "the lengths cover the value exactly").to.equal(value!.length);
  const [, lu, ca, it, al, rm, g, rt, rc, rp] = head;
  return { lu, ca, it, al, rm, g, rt, rc, rp, cl: text[0], da: text[1], ip: text[2], ua: text[3] };
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

/** Counts the CONFIG commands the store sends through this (test-owned) client. */
function countConfigCalls(client: Redis): () => number {
  let calls = 0;
  const target = client as unknown as { config: (...args: unknown[]) => Promise<unknown> };
  const config = target.config.bind(client);
  target.config = (...args: unknown[]) => {
    calls++;
    return config(...args);
  };
  return () => calls;
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
      // A record this small is read whole by one GETRANGE.
      expect(quiet.commands.map((c) => c.name)).to.deep.equal(["evalsha", "getrange"]);
      clock.advance(30 * SECOND);
      const before = await readPacked(redis, sessionKey(BASE, "s1"));
      const touch = await recordCommands(node.url, () => store.check(USER, "s1", clock.now(), MINUTE));
      expect(touch.roundTrips.map((c) => c.name)).to.deep.equal(["evalsha"]);
      // lu rewritten in place, the record's new TTL, then the index.
      expect(touch.commands.map((c) => c.name)).to.deep.equal(["evalsha", "getrange", "setrange", "pexpire", "pttl", "zadd", "pexpire"]);
      expect(touch.commands[2].args.slice(1)).to.deep.equal(["2", lu36(clock.now())]);
      expect(touch.commands[3].args.slice(1)).to.deep.equal([String(DAY)]);
      expect(touch.result!.lastUsedAt).to.equal(clock.now());
      expect(await readPacked(redis, sessionKey(BASE, "s1"))).to.deep.equal({ ...before, lu: lu36(clock.now()) });
      expectPttl(await redis.pttl(sessionKey(BASE, "s1")), DAY);

      // A longer record: its length (to validate it), then the data alone.
      const data = JSON.stringify({ a: "x".repeat(300) });
      await store.create({
        record: record("s2", clock.now(), { data, claims: JSON.stringify({ c: "y".repeat(300) }) }),
        refreshHash: digest("b"),
        maxSessions: null,
        now: clock.now(),
      });
      await store.check(USER, "s2", clock.now(), MINUTE);
      const longer = await recordCommands(node.url, () => store.check(USER, "s2", clock.now(), MINUTE));
      expect(longer.commands.map((c) => c.name)).to.deep.equal(["evalsha", "getrange", "strlen", "getrange"]);
      expect(longer.result!.data).to.equal(data);
    });

    it("check rewrites the whole record when lastUsedAt outgrows its width, keeping everything else", async () => {
      const clock = fakeClock(36 ** 9 - 2 * MINUTE); // 9 base-36 digits, 10 after the touch (the year 5188)
      const texts = { claims: `{"n":"${tricky("cl")}"}`, data: tricky("da"), ip: tricky("ip"), userAgent: tricky("ua") };
      await store.create({ record: record("s1", clock.now(), texts), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await store.create({
        record: record("f", clock.now(), { ...texts, idleTimeout: null, absoluteLifetime: null }),
        refreshHash: digest("f"),
        maxSessions: null,
        now: clock.now(),
      });
      const before = await readPacked(redis, sessionKey(BASE, "s1"));
      clock.advance(2 * MINUTE);
      const touched = await store.check(USER, "s1", clock.now(), MINUTE);
      expect(touched).to.include({ lastUsedAt: 36 ** 9, data: texts.data });
      expect(await readPacked(redis, sessionKey(BASE, "s1"))).to.deep.equal({ ...before, lu: b36(36 ** 9) });
      expectPttl(await redis.pttl(sessionKey(BASE, "s1")), DAY);
      expect(await store.check(USER, "f", clock.now(), MINUTE)).to.include({ lastUsedAt: 36 ** 9, data: texts.data });
      expect(await redis.pttl(sessionKey(BASE, "f"))).to.equal(-1);
      expect(await store.get(USER, "f", clock.now())).to.include({ ...texts, lastUsedAt: 36 ** 9 });
    });

    it("check answers only the numeric head and the data, never the claims, IP or user agent", async () => {
      const clock = fakeClock();
      const start = clock.now();
      const data = JSON.stringify({ blob: "ü€😀|".repeat(2000) }); // 22 KB, multi-byte
      const big = record("s1", start, {
        claims: JSON.stringify({ c: "c".repeat(2000) }),
        data,
        ip: tricky("ip"),
        userAgent: BROWSER_UA,
        rememberMe: true,
      });
      await store.create({ record: big, refreshHash: digest("a"), maxSessions: null, now: start });
      const keys = [sessionKey(BASE, "s1"), INDEX];
      // The script's own reply: [ "lu|ca|it|al|rm", data ] (check-2.lua's header).
      const reply = await redis.eval(scripts.check.source, 2, ...keys, start, MINUTE, "s1");
      expect(reply).to.deep.equal([`${lu36(start)}|${b36(start)}|${b36(DAY)}|${b36(30 * DAY)}|1`, data]);
      clock.advance(2 * MINUTE);
      const touched = await redis.eval(scripts.check.source, 2, ...keys, clock.now(), MINUTE, "s1");
      expect(touched).to.deep.equal([`${lu36(clock.now())}|${b36(start)}|${b36(DAY)}|${b36(30 * DAY)}|1`, data]);
      // Data within the first bytes the script reads comes back in one string: head|data.
      const small = record("s3", start, { data: '{"a":"|ü"}', claims: '{"role":"x"}', ip: "198.51.100.1", userAgent: "ua" });
      await store.create({ record: small, refreshHash: digest("c"), maxSessions: null, now: start });
      expect(await redis.eval(scripts.check.source, 2, sessionKey(BASE, "s3"), INDEX, start, MINUTE, "s3")).to.equal(
        `${lu36(start)}|${b36(start)}|${b36(DAY)}|${b36(30 * DAY)}|0|{"a":"|ü"}`,
      );
      expect(await store.check(USER, "s3", start, MINUTE)).to.deep.equal({ ...small, claims: "", ip: "", userAgent: "" });
      expect(await readPacked(redis, sessionKey(BASE, "s1"))).to.include({
        lu: lu36(clock.now()),
        cl: big.claims,
        da: data,
        ip: big.ip,
        ua: BROWSER_UA,
      });

      // The store's record: claims, ip and user agent "" (Store.check), data decoded when read.
      clock.advance(2 * MINUTE);
      const checked = await store.check(USER, "s1", clock.now(), MINUTE);
      const expected = { ...big, lastUsedAt: clock.now(), claims: "", ip: "", userAgent: "" };
      expect(checked).to.deep.equal(expected);
      expect({ ...checked }).to.deep.equal(expected);
      expect(JSON.parse(JSON.stringify(checked))).to.deep.equal(expected);
      const empty = record("s2", clock.now(), { data: "", idleTimeout: null, absoluteLifetime: null });
      await store.create({ record: empty, refreshHash: digest("b"), maxSessions: null, now: clock.now() });
      expect(await store.check(USER, "s2", clock.now(), MINUTE)).to.deep.equal({ ...empty, claims: "", ip: "", userAgent: "" });
    });

    it("never stores a refresh digest the caller could present whole, nor the user id", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("secret"), maxSessions: null, now: clock.now() });
      const value = (await redis.get(sessionKey(BASE, "s1")))!;
      expect(value).not.to.include(digest("secret"));
      expect(value).not.to.include(USER);
      expect((await readPacked(redis, sessionKey(BASE, "s1"))).rc).to.equal(digest("secret").slice(0, 22));
    });
  });

  describe("the record format", () => {
    it("packs one string: the numeric head, the digests, then the text fields by byte length", async () => {
      const clock = fakeClock();
      const start = clock.now();
      await store.create({ record: record("s1", start), refreshHash: digest("a"), maxSessions: null, now: start });
      expect(await redis.type(sessionKey(BASE, "s1"))).to.equal("string");
      expect(await readPacked(redis, sessionKey(BASE, "s1"))).to.deep.equal({
        lu: lu36(start),
        ca: b36(start),
        it: b36(DAY),
        al: b36(30 * DAY),
        rm: "0",
        g: "0",
        rt: "",
        rc: digest("a").slice(0, 22),
        rp: "",
        cl: '{"role":"admin"}',
        da: "",
        ip: "203.0.113.9",
        ua: "Mozilla/5.0",
      });
      const value = (await redis.get(sessionKey(BASE, "s1")))!;
      expect(value).to.equal(
        `2|${lu36(start)}|${b36(start)}|${b36(DAY)}|${b36(30 * DAY)}|0|0||${digest("a").slice(0, 22)}||16|0|11|11|{"role":"admin"}203.0.113.9Mozilla/5.0`,
      );

      clock.advance(MINUTE);
      const rotated = await store.rotate({
        userId: USER,
        sessionId: "s1",
        generation: 0,
        presentedHash: digest("a"),
        successorHash: digest("b"),
        now: clock.now(),
        reuseWindow: 10 * SECOND,
        ip: "198.51.100.1",
        userAgent: "",
      });
      expect(rotated.status).to.equal("rotated");
      expect(await readPacked(redis, sessionKey(BASE, "s1"))).to.deep.equal({
        lu: lu36(clock.now()),
        ca: b36(start),
        it: b36(DAY),
        al: b36(30 * DAY),
        rm: "0",
        g: "1",
        rt: b36(clock.now()),
        rc: digest("b").slice(0, 22),
        rp: digest("a").slice(0, 22),
        cl: '{"role":"admin"}',
        da: "",
        ip: "198.51.100.1",
        ua: "",
      });
    });

    it("keeps text fields with |, newlines and multi-byte unicode intact through every operation", async () => {
      const clock = fakeClock();
      const texts = { claims: `{"n":"${tricky("cl")}"}`, data: tricky("da"), ip: tricky("ip"), userAgent: tricky("ua") };
      const forever = record("f|1", clock.now(), { ...texts, idleTimeout: null, absoluteLifetime: null, rememberMe: true });
      const sliding = record("s1", clock.now(), texts);
      await store.create({ record: forever, refreshHash: digest("f"), maxSessions: null, now: clock.now() });
      await store.create({ record: sliding, refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      const packed = await readPacked(redis, sessionKey(BASE, "s1"));
      expect(packed).to.include({ cl: texts.claims, da: texts.data, ip: texts.ip, ua: texts.userAgent });
      expect(await store.get(USER, "s1", clock.now())).to.deep.equal(sliding);
      expect(await store.get(USER, "f|1", clock.now())).to.deep.equal(forever);

      clock.advance(2 * MINUTE);
      // check returns the data but leaves out claims, ip and user agent (Store.check).
      const blank = { claims: "", ip: "", userAgent: "" };
      expect(await store.check(USER, "s1", clock.now(), MINUTE)).to.deep.equal({ ...sliding, ...blank, lastUsedAt: clock.now() });
      expect(await store.check(USER, "f|1", clock.now(), MINUTE)).to.deep.equal({ ...forever, ...blank, lastUsedAt: clock.now() });
      expect(await redis.pttl(sessionKey(BASE, "f|1"))).to.equal(-1);
      const listed = await store.list(USER, clock.now());
      expect(listed.map((r) => r.id).sort()).to.deep.equal(["f|1", "s1"]);
      for (const r of listed) expect(r).to.include(texts);

      const newIp = tricky("ip2") + "\u0000";
      const newUa = "ua😀|" + "ж".repeat(200);
      const rotated = await store.rotate({
        userId: USER,
        sessionId: "s1",
        generation: 0,
        presentedHash: digest("a"),
        successorHash: digest("b"),
        now: clock.now(),
        reuseWindow: 10 * SECOND,
        ip: newIp,
        userAgent: newUa,
      });
      const expected = { ...sliding, lastUsedAt: clock.now(), ip: newIp, userAgent: newUa };
      expect(rotated).to.deep.equal({ status: "rotated", record: expected });
      expect(await readPacked(redis, sessionKey(BASE, "s1"))).to.include({ cl: texts.claims, da: texts.data, ip: newIp, ua: newUa });
      expect(
        await store.rotate({
          userId: USER,
          sessionId: "s1",
          generation: 0,
          presentedHash: digest("a"),
          successorHash: digest("b"),
          now: clock.now(),
          reuseWindow: 10 * SECOND,
          ip: "",
          userAgent: "",
        }),
      ).to.deep.equal({ status: "repeated", record: expected });
      expect(await store.get(USER, "s1", clock.now())).to.deep.equal(expected);
      expect(await store.revokeByRefresh(USER, "s1", 1, digest("b"), clock.now(), 10 * SECOND)).to.equal("ended");
      expect(await store.revokeAll(USER, undefined, clock.now())).to.deep.equal(["f|1"]);
    });

    it("fails, and does not guess, on a record in a format it does not know", async () => {
      const clock = fakeClock();
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      const key = sessionKey(BASE, "s1");
      const value = (await redis.get(key))!;
      await redis.set(key, "3" + value.slice(1));
      let error: unknown;
      try {
        await store.check(USER, "s1", clock.now(), MINUTE);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(Error);
      expect(await redis.get(key)).to.equal("3" + value.slice(1));
      // Times that are not plain lower-case base 36 (a space, a sign, upper
      // case) are refused by the scripts, never read as some other time.
      for (const lu of [" 0mx3c8ro", "-0mx3c8ro", "0MX3C8RO0", "0mx3c8r.o"]) {
        const bad = value.slice(0, 2) + lu + value.slice(11);
        await redis.set(key, bad);
        error = undefined;
        try {
          await store.check(USER, "s1", clock.now(), MINUTE);
        } catch (err) {
          error = err;
        }
        expect(error, lu).to.be.instanceOf(Error);
        expect(await redis.get(key)).to.equal(bad);
      }
      // A damaged time is refused before anything is written, and a global
      // logout still ends every other session of the user.
      await redis.set(key, value);
      await store.create({ record: record("s3", clock.now()), refreshHash: digest("c"), maxSessions: null, now: clock.now() });
      const damaged = value.slice(0, 2) + value.slice(2, 11).toUpperCase() + value.slice(11);
      await redis.set(key, damaged);
      for (const call of [
        () => store.get(USER, "s1", clock.now()),
        () => store.list(USER, clock.now()),
        () => store.revokeByRefresh(USER, "s1", 0, digest("a"), clock.now(), SECOND),
      ]) {
        error = undefined;
        try {
          await call();
        } catch (err) {
          error = err;
        }
        expect(error)
          .to.be.instanceOf(Error)
          .with.property("message")
          .that.matches(/format/);
        expect(await redis.get(key)).to.equal(damaged);
      }
      expect((await store.revokeAll(USER, undefined, clock.now())).sort()).to.deep.equal(["s1", "s3"]);
      expect(await redis.exists(key, sessionKey(BASE, "s3"), INDEX)).to.equal(0);
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      // A record whose lengths do not cover it exactly is refused: by check's
      // script, and by the parser in Node for the operations that return it whole.
      await redis.set(key, value + "x");
      error = undefined;
      try {
        await store.check(USER, "s1", clock.now(), MINUTE);
      } catch (err) {
        error = err;
      }
      expect(error)
        .to.be.instanceOf(Error)
        .with.property("message")
        .that.matches(/format/);
      // The same for a record longer than what check reads at first.
      await store.create({
        record: record("s2", clock.now(), { claims: JSON.stringify({ c: "c".repeat(400) }) }),
        refreshHash: digest("b"),
        maxSessions: null,
        now: clock.now(),
      });
      await redis.append(sessionKey(BASE, "s2"), "x");
      error = undefined;
      try {
        await store.check(USER, "s2", clock.now(), MINUTE);
      } catch (err) {
        error = err;
      }
      expect(error)
        .to.be.instanceOf(Error)
        .with.property("message")
        .that.matches(/format/);
      error = undefined;
      try {
        await store.get(USER, "s1", clock.now());
      } catch (err) {
        error = err;
      }
      expect(error)
        .to.be.instanceOf(Error)
        .with.property("message")
        .that.matches(/format/);
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
      await store.create({
        record: record("s1", start, { absoluteLifetime: DAY + HOUR }),
        refreshHash: digest("a"),
        maxSessions: null,
        now: start,
      });
      clock.advance(20 * 60 * MINUTE);
      await store.check(USER, "s1", clock.now(), MINUTE);
      expectPttl(await redis.pttl(sessionKey(BASE, "s1")), start + DAY + HOUR - clock.now());
    });

    it("extends the index on rotation, and keeps it at the furthest deadline on create and list", async () => {
      const clock = fakeClock();
      await store.create({
        record: record("long", clock.now(), { idleTimeout: 7 * DAY }),
        refreshHash: digest("l"),
        maxSessions: null,
        now: clock.now(),
      });
      await store.create({ record: record("short", clock.now()), refreshHash: digest("s"), maxSessions: null, now: clock.now() });
      expectPttl(await redis.pttl(INDEX), 7 * DAY);
      clock.advance(DAY + 1); // "short" is dead now
      expect((await store.list(USER, clock.now())).map((r) => r.id)).to.deep.equal(["long"]);
      expectPttl(await redis.pttl(INDEX), 6 * DAY - 1);
      expect(await redis.exists(sessionKey(BASE, "short"))).to.equal(0);
      const rotated = await store.rotate({
        userId: USER,
        sessionId: "long",
        generation: 0,
        presentedHash: digest("l"),
        successorHash: digest("l1"),
        now: clock.now(),
        reuseWindow: 10 * SECOND,
        ip: "",
        userAgent: "",
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
        refreshHash: digest("f"),
        maxSessions: null,
        now: clock.now(),
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

    for (const op of ["check", "get"] as const) {
      it(`${op} meeting a dead session gives back an expiry to an index whose forever session is gone`, async () => {
        // An index left persistent although its forever session's record is
        // gone (lost, or from a version that did not settle the index).
        const clock = fakeClock();
        const forever = record("f", clock.now(), { idleTimeout: null, absoluteLifetime: null });
        await store.create({ record: forever, refreshHash: digest("f"), maxSessions: null, now: clock.now() });
        await store.create({
          record: record("short", clock.now(), { idleTimeout: HOUR }),
          refreshHash: digest("s"),
          maxSessions: null,
          now: clock.now(),
        });
        await store.create({ record: record("long", clock.now()), refreshHash: digest("l"), maxSessions: null, now: clock.now() });
        await redis.del(sessionKey(BASE, "f"));
        expect(await redis.pttl(INDEX)).to.equal(-1);
        clock.advance(2 * HOUR);
        expect(
          op === "check" ? await store.check(USER, "short", clock.now(), MINUTE) : await store.get(USER, "short", clock.now()),
        ).to.equal(null);
        expect(await redis.zrange(INDEX, 0, -1)).to.deep.equal(["long"]);
        expectPttl(await redis.pttl(INDEX), DAY - 2 * HOUR);
      });
    }

    it("a check of a live session leaves a persistent index alone (no extra work on the hot path)", async () => {
      const clock = fakeClock();
      await store.create({
        record: record("f", clock.now(), { idleTimeout: null, absoluteLifetime: null }),
        refreshHash: digest("f"),
        maxSessions: null,
        now: clock.now(),
      });
      await store.create({ record: record("s1", clock.now()), refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      await store.check(USER, "s1", clock.now(), MINUTE); // loads the script
      clock.advance(2 * MINUTE);
      const touch = await recordCommands(node.url, () => store.check(USER, "s1", clock.now(), MINUTE));
      expect(touch.commands.map((c) => c.name)).to.deep.equal(["evalsha", "getrange", "setrange", "pexpire", "pttl", "zadd"]);
      expect(await redis.pttl(INDEX)).to.equal(-1);
    });

    it("revokeAll leaves the index expiring with the session it kept, or deletes it", async () => {
      const clock = fakeClock();
      await store.create({
        record: record("a", clock.now(), { idleTimeout: 7 * DAY }),
        refreshHash: digest("a"),
        maxSessions: null,
        now: clock.now(),
      });
      await store.create({ record: record("b", clock.now()), refreshHash: digest("b"), maxSessions: null, now: clock.now() });
      expect(await store.revokeAll(USER, "b", clock.now())).to.deep.equal(["a"]);
      expectPttl(await redis.pttl(INDEX), DAY);
      expect(await store.revokeAll(USER, undefined, clock.now())).to.deep.equal(["b"]);
      expect(await redis.exists(INDEX)).to.equal(0);
    });

    it("keeps a typical session under 400 bytes and a minimal one under 250 in Redis memory", async () => {
      const clock = fakeClock();
      const sid = "AAAAAAAAAAAAAAAAAAAAAA";
      const typical = record(sid, clock.now(), { claims: '{"role":"user"}', ip: "203.0.113.7", userAgent: BROWSER_UA });
      await store.create({ record: typical, refreshHash: digest("a"), maxSessions: null, now: clock.now() });
      expect(Number(await redis.call("MEMORY", "USAGE", sessionKey(BASE, sid), "SAMPLES", "0"))).to.be.at.most(400);
      const minimal = record("BBBBBBBBBBBBBBBBBBBBBB", clock.now(), { claims: "", ip: "", userAgent: "" });
      await store.create({ record: minimal, refreshHash: digest("b"), maxSessions: null, now: clock.now() });
      expect(Number(await redis.call("MEMORY", "USAGE", sessionKey(BASE, minimal.id), "SAMPLES", "0"))).to.be.at.most(250);
    });

    it("keeps a session small in Redis memory after a rotation", async () => {
      const clock = fakeClock();
      const sid = "AAAAAAAAAAAAAAAAAAAAAA";
      await store.create({
        record: record(sid, clock.now(), { claims: "" }),
        refreshHash: digest("a"),
        maxSessions: null,
        now: clock.now(),
      });
      await store.rotate({
        userId: USER,
        sessionId: sid,
        generation: 0,
        presentedHash: digest("a"),
        successorHash: digest("b"),
        now: clock.now(),
        reuseWindow: 10 * SECOND,
        ip: "203.0.113.9",
        userAgent: "Mozilla/5.0",
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

    it("warns about a Cluster client with auto-pipelining (MOVED is not followed), and not about a standalone one", async () => {
      const warnings = collectWarnings();
      const safe = { enableOfflineQueue: false, lazyConnect: true, redisOptions: { commandTimeout: 1000 } };
      const pipelined = new Cluster([{ host: "127.0.0.1", port: 1 }], { ...safe, enableAutoPipelining: true });
      const plain = new Cluster([{ host: "127.0.0.1", port: 1 }], safe);
      const standalone = new Redis(node.url, {
        enableOfflineQueue: false,
        commandTimeout: 1000,
        enableAutoPipelining: true,
        lazyConnect: true,
      });
      try {
        new RedisStore({ client: pipelined });
        await settle();
        expect(warnings.codes).to.deep.equal(["SESSION_GUARD_REDIS_CLUSTER_AUTO_PIPELINING"]);
        warnings.codes.length = 0;
        new RedisStore({ client: plain });
        new RedisStore({ client: standalone });
        await settle();
        expect(warnings.codes).to.deep.equal([]);
      } finally {
        warnings.stop();
        pipelined.disconnect();
        plain.disconnect();
        standalone.disconnect();
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

    it("makes the maxmemory-policy check once the client can send it, not losing it to a first failed command", async () => {
      const own = await startRedis({ args: ["--maxmemory-policy", "allkeys-lru"] });
      const client = new Redis(own.url, { enableOfflineQueue: false, commandTimeout: 2000, lazyConnect: true });
      const sent = countConfigCalls(client);
      const warnings = collectWarnings();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      try {
        const evicting = new RedisStore({ client });
        // Not connected yet: the command fails, and the check sent beside it too.
        let error: unknown;
        try {
          await evicting.get(USER, "s1", Date.now());
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(Error);
        if (client.status !== "ready") await new Promise((resolve) => client.once("ready", resolve)); // that command started the connect
        expect(await evicting.get(USER, "s1", Date.now())).to.equal(null);
        await client.ping(); // the CONFIG GET reply precedes this one on the connection
        await settle();
        expect(sent()).to.equal(2);
        expect(warnings.codes.filter((c) => c === "SESSION_GUARD_REDIS_EVICTION_POLICY")).to.have.length(1);
        // Done: never sent again.
        expect(await evicting.get(USER, "s1", Date.now())).to.equal(null);
        expect(sent()).to.equal(2);
        await settle();
        expect(unhandled).to.deep.equal([]);
      } finally {
        process.off("unhandledRejection", onUnhandled);
        warnings.stop();
        client.disconnect();
        await own.stop();
      }
    });

    it("takes an error reply to the maxmemory-policy check (CONFIG not allowed) as its answer, and gives up on a client that never connects", async () => {
      const own = await startRedis();
      const admin = new Redis(own.url, { enableOfflineQueue: false, commandTimeout: 2000, lazyConnect: true });
      try {
        await admin.connect();
        // A user that may do anything but CONFIG, as on some managed Redis.
        await admin.call("ACL", "SETUSER", "app", "on", ">secret", "~*", "+@all", "-config");
        const client = new Redis(own.url, {
          username: "app",
          password: "secret",
          enableOfflineQueue: false,
          commandTimeout: 2000,
          lazyConnect: true,
        });
        try {
          await client.connect();
          const store = new RedisStore({ client });
          for (let i = 0; i < 3; i++) expect(await store.get(USER, "s1", Date.now())).to.equal(null);
          await client.ping();
          const stats = await admin.info("commandstats");
          expect(/cmdstat_config\|get:.*rejected_calls=(\d+)/.exec(stats)?.[1], "CONFIG sends refused").to.equal("1");
        } finally {
          client.disconnect();
        }

        // A client that never connects: every command fails; the check is sent a few times, then no more.
        const gone = await startRedis();
        await gone.stop();
        const never = new Redis(gone.url, { enableOfflineQueue: false, commandTimeout: 500, lazyConnect: true, retryStrategy: () => 50 });
        never.on("error", () => {});
        const sent = countConfigCalls(never);
        const store = new RedisStore({ client: never });
        for (let i = 0; i < 10; i++) {
          let error: unknown;
          try {
            await store.get(USER, "s1", Date.now());
          } catch (err) {
            error = err;
          }
          expect(error).to.be.instanceOf(Error);
        }
        expect(sent()).to.equal(3);
        never.disconnect();
      } finally {
        admin.disconnect();
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
