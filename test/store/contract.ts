/**
 * The store contract suite (`lib/stores/store.ts`), written once and run
 * against every store by `contract.test.ts`. Time comes from a fake clock
 * and is always passed in; Redis keys are set relative to it (PEXPIRE), so
 * PTTLs are compared with `deadline − now` of the fake clock at the last write.
 *
 * For Redis-backed stores the suite also checks what is left in Redis
 * (EXISTS, PTTL, ZSCORE, ZCARD of the keys from `lib/stores/keys.ts`).
 *
 * @module
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { deadlineOf } from "../../lib/stores/store.js";
import type { RotateInput, RotateResult, SessionRecord, Store } from "../../lib/stores/store.js";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { DAY, HOUR, MINUTE, SECOND, YEAR, fakeClock, type FakeClock } from "../support/clock.js";
import { commandCount, recordCommands } from "../support/redis-server.js";

/** Raw access to the Redis a store writes to, for assertions. */
export interface RedisInspector {
  url: string;
  /** A connection of the suite's own (not the store's). */
  client: Redis;
  /** The store's key prefix. */
  prefix: string;
}

/** A store opened for one test case. */
export interface OpenStore {
  store: Store;
  /** Sessions physically held, live or dead, across all users. */
  held(): Promise<number>;
  /** Present for Redis-backed stores. */
  redis?: RedisInspector;
  close(): Promise<void>;
}

/** One row of the store table. */
export interface StoreFactory {
  name: string;
  /** True when `open()` gives a {@link RedisInspector}. */
  redis: boolean;
  /**
   * Redis rows: false when the store's commands spread over several servers
   * (a Cluster), so the tests that watch one server (MONITOR, INFO
   * commandstats at the inspector's `url`) do not apply. Default true.
   */
  singleServer?: boolean;
  open(): Promise<OpenStore>;
}

/** PTTLs are read a few ms after the write; allow this much real time to have passed. */
const PTTL_SLACK_MS = 1000;
const REUSE_WINDOW = 10 * SECOND;
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
const RECORD_FIELDS = [
  "id",
  "userId",
  "createdAt",
  "lastUsedAt",
  "idleTimeout",
  "absoluteLifetime",
  "rememberMe",
  "claims",
  "data",
  "ip",
  "userAgent",
] as const;

/** Fields `check` may return as `""` (see `Store.check`). */
const CHECK_MAY_BLANK = ["claims", "ip", "userAgent"] as const;

/** User ids that must neither break a key nor mix with each other. */
const AWKWARD_USER_IDS = [
  "alice",
  "{alice}",
  "}{",
  "user:1",
  "user",
  "user:1:s:x",
  "with some spaces ",
  " ",
  "ünïcødé-用户-🙂",
  "u\u0308", // "ü" decomposed: a different string from the composed one
  "ü",
  "x".repeat(1024),
  "x".repeat(1023) + "y",
];

/** Registers the whole contract suite for one store. */
export function describeStoreContract(factory: StoreFactory): void {
  describe(`${factory.name} store contract`, () => {
    let open: OpenStore;
    let store: Store;
    let clock: FakeClock;

    beforeEach(async () => {
      open = await factory.open();
      store = open.store;
      clock = fakeClock();
    });

    afterEach(async () => {
      await open.close();
    });

    // ---- helpers ---------------------------------------------------------

    function newId(): string {
      return randomBytes(16).toString("base64url");
    }

    interface SessionOptions {
      id?: string;
      idleTimeout?: number | null;
      absoluteLifetime?: number | null;
      rememberMe?: boolean;
      claims?: string;
      data?: string;
      ip?: string;
      userAgent?: string;
      refreshHash?: string;
      maxSessions?: number | null;
    }

    function makeRecord(userId: string, options: SessionOptions = {}): SessionRecord {
      const now = clock.now();
      return {
        id: options.id ?? newId(),
        userId,
        createdAt: now,
        lastUsedAt: now,
        idleTimeout: options.idleTimeout === undefined ? DAY : options.idleTimeout,
        absoluteLifetime: options.absoluteLifetime === undefined ? 30 * DAY : options.absoluteLifetime,
        rememberMe: options.rememberMe ?? false,
        claims: options.claims ?? '{"role":"admin"}',
        data: options.data ?? '{"theme":"dark","name":"Zoë"}',
        ip: options.ip ?? "203.0.113.7",
        userAgent: options.userAgent ?? "Mozilla/5.0 (X11; Linux x86_64) contract-test",
      };
    }

    /** Creates a session at the clock's time; resolves to the record and the ids evicted. */
    async function create(userId: string, options: SessionOptions = {}): Promise<{ record: SessionRecord; evicted: string[] }> {
      const record = makeRecord(userId, options);
      const evicted = await store.create({
        record: { ...record },
        refreshHash: options.refreshHash ?? "h0",
        maxSessions: options.maxSessions === undefined ? null : options.maxSessions,
        now: clock.now(),
      });
      return { record, evicted };
    }

    function rotate(
      record: SessionRecord,
      generation: number,
      presentedHash: string,
      successorHash: string,
      extra: Partial<RotateInput> = {},
    ): Promise<RotateResult> {
      return store.rotate({
        userId: record.userId,
        sessionId: record.id,
        generation,
        presentedHash,
        successorHash,
        now: clock.now(),
        reuseWindow: REUSE_WINDOW,
        ip: "198.51.100.20",
        userAgent: "rotating-agent/2.0",
        ...extra,
      });
    }

    /** Only the contract's fields, so a store may carry more without failing. */
    function fields(record: SessionRecord | null | undefined): Partial<SessionRecord> | null {
      if (record === null || record === undefined) return null;
      const out: Record<string, unknown> = {};
      for (const name of RECORD_FIELDS) out[name] = record[name];
      return out as Partial<SessionRecord>;
    }

    /**
     * A record from `check`: every contract field as expected, except that a
     * store may return `claims`, `ip` and `userAgent` as `""` (store.ts).
     */
    function expectChecked(actual: SessionRecord | null, expected: SessionRecord): void {
      expect(actual, "the record from check").to.not.equal(null);
      const got = fields(actual)!;
      for (const name of CHECK_MAY_BLANK) {
        expect(got[name], `${name} from check`).to.be.oneOf(["", expected[name]]);
        got[name] = expected[name];
      }
      expect(got).to.deep.equal(expected);
    }

    function sortedIds(records: Array<{ id: string }>): string[] {
      return records.map((r) => r.id).sort();
    }

    function sKey(userId: string, sessionId: string): string {
      return sessionKey(userKeyBase(open.redis!.prefix, userId), sessionId);
    }

    function iKey(userId: string): string {
      return indexKey(userKeyBase(open.redis!.prefix, userId));
    }

    /** Expects a PTTL of `expected` ms (less the real time since the write), or -1 for `null` (no expiry). */
    function expectPttl(actual: number, expected: number | null, what: string): void {
      if (expected === null) {
        expect(actual, `${what}: PTTL (no expiry expected)`).to.equal(-1);
        return;
      }
      expect(actual, `${what}: PTTL`).to.be.at.most(expected);
      expect(actual, `${what}: PTTL`).to.be.above(expected - PTTL_SLACK_MS);
    }

    /** Redis: the session's key expires at its deadline (fake now at the last write = `writtenAt`). */
    async function expectSessionTtl(record: SessionRecord, writtenAt = clock.now()): Promise<void> {
      if (!open.redis) return;
      const deadline = deadlineOf(record);
      expectPttl(
        await open.redis.client.pttl(sKey(record.userId, record.id)),
        deadline === null ? null : deadline - writtenAt,
        `session ${record.id}`,
      );
    }

    /** Redis: the index expires at the furthest of these deadlines (no expiry if one is a forever session). */
    async function expectIndexTtl(userId: string, records: SessionRecord[], writtenAt = clock.now()): Promise<void> {
      if (!open.redis) return;
      const deadlines = records.map(deadlineOf);
      const furthest = deadlines.includes(null) ? null : Math.max(...(deadlines as number[]));
      expectPttl(
        await open.redis.client.pttl(iKey(userId)),
        furthest === null ? null : furthest - writtenAt,
        `index of ${JSON.stringify(userId.slice(0, 40))}`,
      );
    }

    /** Redis: the index lists exactly these sessions, scored by their last use. */
    async function expectIndex(userId: string, records: SessionRecord[]): Promise<void> {
      if (!open.redis) return;
      const { client } = open.redis;
      const members = await client.zrange(iKey(userId), 0, -1, "WITHSCORES");
      const actual: Record<string, number> = {};
      for (let i = 0; i < members.length; i += 2) actual[members[i]] = Number(members[i + 1]);
      const expected: Record<string, number> = {};
      for (const r of records) expected[r.id] = r.lastUsedAt;
      expect(actual, `index of ${JSON.stringify(userId.slice(0, 40))} (id → score)`).to.deep.equal(expected);
    }

    /**
     * Redis: every session in the index has its key, and the index does not
     * expire before any of them: its PTTL covers each session's
     * `deadline − now` (or it has no expiry). Compared in the fake timeline,
     * since keys written at different fake times carry PTTLs relative to
     * their own write.
     */
    async function expectIndexOutlivesSessions(userId: string): Promise<void> {
      if (!open.redis) return;
      const { client } = open.redis;
      const indexTtl = await client.pttl(iKey(userId));
      const ids = await client.zrange(iKey(userId), 0, -1);
      expect(ids.length, "sessions in the index").to.be.greaterThan(0);
      for (const id of ids) {
        expect(await client.exists(sKey(userId, id)), `session ${id} is in the index but has no key`).to.equal(1);
        const record = await store.get(userId, id, clock.now());
        expect(record, `session ${id} in the index`).to.not.equal(null);
        const deadline = deadlineOf(record!);
        if (deadline === null) {
          expect(indexTtl, `index of a forever session ${id}`).to.equal(-1);
        } else if (indexTtl !== -1) {
          expect(indexTtl, `index expiry vs the deadline of session ${id}`).to.be.above(deadline - clock.now() - PTTL_SLACK_MS);
        }
      }
    }

    /** The session is deleted: in Redis neither its key nor its index entry is left; the store no longer returns it. */
    async function expectGone(record: SessionRecord): Promise<void> {
      if (open.redis) {
        const { client } = open.redis;
        expect(await client.exists(sKey(record.userId, record.id)), `key of session ${record.id}`).to.equal(0);
        expect(await client.zscore(iKey(record.userId), record.id), `index entry of session ${record.id}`).to.equal(null);
      }
      expect(await store.get(record.userId, record.id, clock.now())).to.equal(null);
    }

    /** What a failed operation must leave as it was. */
    async function snapshot(record: SessionRecord): Promise<unknown> {
      if (open.redis) {
        const { client } = open.redis;
        return {
          record: await client.get(sKey(record.userId, record.id)),
          score: await client.zscore(iKey(record.userId), record.id),
          held: await open.held(),
        };
      }
      return { record: fields(await store.get(record.userId, record.id, clock.now())), held: await open.held() };
    }

    /** Keys of this user left in Redis (session keys and index). */
    async function userKeys(userId: string): Promise<string[]> {
      if (!open.redis) return [];
      return (await open.redis.client.keys(`${userKeyBase(open.redis.prefix, userId)}*`)).sort();
    }

    // ---- create, get, list ---------------------------------------------

    describe("create, get and list", () => {
      it("returns the record as created from get, check and list", async () => {
        const { record, evicted } = await create("alice");
        expect(evicted).to.deep.equal([]);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(record);
        expectChecked(await store.check("alice", record.id, clock.now(), MINUTE), record);
        const listed = await store.list("alice", clock.now());
        expect(listed.map(fields)).to.deep.equal([record]);
        expect(await open.held()).to.equal(1);
        await expectIndex("alice", [record]);
        await expectSessionTtl(record);
        await expectIndexTtl("alice", [record]);
      });

      it("keeps empty strings, null deadlines, remember-me and long text fields as given", async () => {
        const { record } = await create("bob", {
          claims: "",
          data: "",
          ip: "",
          userAgent: "",
          rememberMe: true,
          idleTimeout: null,
          absoluteLifetime: 365 * DAY,
        });
        expect(fields(await store.get("bob", record.id, clock.now()))).to.deep.equal(record);
        const { record: other } = await create("bob", {
          claims: JSON.stringify({ role: "owner", scopes: ["a", "b"], note: 'ünï"cødé\n' }),
          data: JSON.stringify({ blob: "z".repeat(4000) }),
          ip: "2001:db8::1",
          userAgent: "Agent/1.0 ".repeat(50),
          idleTimeout: 15 * MINUTE,
          absoluteLifetime: null,
        });
        expect(fields(await store.get("bob", other.id, clock.now()))).to.deep.equal(other);
        expect(sortedIds(await store.list("bob", clock.now()))).to.deep.equal(sortedIds([record, other]));
      });

      it("keeps sessions of awkward user ids working and apart", async () => {
        const byUser = new Map<string, SessionRecord[]>();
        for (const userId of AWKWARD_USER_IDS) {
          byUser.set(userId, [(await create(userId)).record, (await create(userId)).record]);
        }
        expect(await open.held()).to.equal(2 * AWKWARD_USER_IDS.length);
        for (const [userId, records] of byUser) {
          const listed = await store.list(userId, clock.now());
          expect(sortedIds(listed), `sessions of ${JSON.stringify(userId.slice(0, 40))}`).to.deep.equal(sortedIds(records));
          for (const r of listed) expect(r.userId).to.equal(userId);
          for (const r of records) {
            expectChecked(await store.check(userId, r.id, clock.now(), MINUTE), r);
            await expectIndex(userId, records);
            if (open.redis) expect(await open.redis.client.exists(sKey(userId, r.id))).to.equal(1);
          }
        }
        // No user reaches another user's session.
        const [first, second] = [AWKWARD_USER_IDS[0], AWKWARD_USER_IDS[1]];
        for (const userId of AWKWARD_USER_IDS) {
          for (const [owner, records] of byUser) {
            if (owner === userId) continue;
            expect(
              await store.get(userId, records[0].id, clock.now()),
              `${JSON.stringify(userId.slice(0, 20))} getting a session of ${JSON.stringify(owner.slice(0, 20))}`,
            ).to.equal(null);
          }
        }
        // Revoking all of one user leaves every other user's sessions.
        expect((await store.revokeAll(first, undefined, clock.now())).sort()).to.deep.equal(sortedIds(byUser.get(first)!));
        expect(sortedIds(await store.list(second, clock.now()))).to.deep.equal(sortedIds(byUser.get(second)!));
        expect(await open.held()).to.equal(2 * AWKWARD_USER_IDS.length - 2);
        expect(await userKeys(first)).to.deep.equal([]);
      });

      it("get writes nothing: lastUsedAt and expiries stay", async () => {
        const { record } = await create("erin", { idleTimeout: HOUR });
        clock.advance(30 * MINUTE);
        expect(fields(await store.get("erin", record.id, clock.now()))).to.deep.equal(record);
        await expectSessionTtl(record, record.lastUsedAt);
        await expectIndex("erin", [record]);
      });

      it("list of a user without sessions is empty", async () => {
        expect(await store.list("nobody", clock.now())).to.deep.equal([]);
        expect(await open.held()).to.equal(0);
      });
    });

    // ---- check and touch -------------------------------------------------

    describe("check", () => {
      it("resolves null for an unknown session and for another user's session, leaving it untouched", async () => {
        const { record } = await create("alice");
        expect(await store.check("alice", newId(), clock.now(), MINUTE)).to.equal(null);
        clock.advance(HOUR);
        const before = await snapshot(record);
        expect(await store.check("mallory", record.id, clock.now(), 0)).to.equal(null);
        expect(await store.check("Alice", record.id, clock.now(), 0)).to.equal(null);
        expect(await snapshot(record)).to.deep.equal(before);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(record);
        expect(await store.list("mallory", clock.now())).to.deep.equal([]);
        expect(await userKeys("mallory")).to.deep.equal([]);
      });

      it("touches only once touchInterval has passed since the last use", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        clock.advance(MINUTE - 1);
        const early = await store.check("alice", record.id, clock.now(), MINUTE);
        expectChecked(early, record);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(record);
        await expectIndex("alice", [record]);

        clock.advance(1);
        const touched = await store.check("alice", record.id, clock.now(), MINUTE);
        const expected = { ...record, lastUsedAt: clock.now() };
        expectChecked(touched, expected);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(expected);
        await expectIndex("alice", [expected]);
        await expectSessionTtl(expected);
        await expectIndexOutlivesSessions("alice");
      });

      it("writes nothing when no touch is due (Redis: PTTL unchanged, no write command, one round trip)", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        await store.check("alice", record.id, clock.now(), MINUTE); // loads the script
        clock.advance(30 * SECOND);
        if (open.redis && factory.singleServer !== false) {
          const { client, url } = open.redis;
          const writesBefore = await commandCount(client, WRITE_COMMANDS);
          const { result, roundTrips } = await recordCommands(url, () => store.check("alice", record.id, clock.now(), MINUTE));
          expectChecked(result, record);
          expect(
            roundTrips.map((c) => c.name),
            "round trips of one check",
          ).to.have.length(1);
          expect(await commandCount(client, WRITE_COMMANDS), "write commands run by a check with no touch due").to.equal(writesBefore);
          await expectSessionTtl(record, record.lastUsedAt); // not re-set relative to the later now
        } else {
          expectChecked(await store.check("alice", record.id, clock.now(), MINUTE), record);
          await expectSessionTtl(record, record.lastUsedAt);
        }
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(record);
      });

      it("moves the session's expiry to the new deadline on a touch", async () => {
        // Idle 1 h, lifetime 70 min: a touch at 30 min sets the deadline to 70 min (the absolute cap).
        const { record } = await create("alice", { idleTimeout: HOUR, absoluteLifetime: 70 * MINUTE });
        await expectSessionTtl(record);
        clock.advance(30 * MINUTE);
        const touched = await store.check("alice", record.id, clock.now(), MINUTE);
        expect(touched?.lastUsedAt).to.equal(clock.now());
        await expectSessionTtl(touched!);
        if (open.redis) expectPttl(await open.redis.client.pttl(sKey("alice", record.id)), 40 * MINUTE, "session after touch");
        await expectIndexOutlivesSessions("alice");

        // Idle only: after a touch at 45 min the key lives a full idle period from now.
        const { record: other } = await create("bob", { idleTimeout: HOUR, absoluteLifetime: null });
        clock.advance(45 * MINUTE);
        const touchedOther = await store.check("bob", other.id, clock.now(), MINUTE);
        await expectSessionTtl(touchedOther!);
        if (open.redis) expectPttl(await open.redis.client.pttl(sKey("bob", other.id)), HOUR, "idle-only session after touch");
        await expectIndexOutlivesSessions("bob");
      });

      it("with touchInterval 0 touches on every check", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        for (let i = 0; i < 3; i++) {
          clock.advance(1);
          expect((await store.check("alice", record.id, clock.now(), 0))?.lastUsedAt).to.equal(clock.now());
        }
      });

      it("never resurrects a revoked session, also when a check races the revoke", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        expect(await store.revoke("alice", record.id, clock.now())).to.equal(true);
        clock.advance(10 * MINUTE);
        expect(await store.check("alice", record.id, clock.now(), 0)).to.equal(null);
        await expectGone(record);

        const { record: raced } = await create("alice", { idleTimeout: HOUR });
        clock.advance(10 * MINUTE);
        const [revoked, checked] = await Promise.all([
          store.revoke("alice", raced.id, clock.now()),
          store.check("alice", raced.id, clock.now(), 0),
        ]);
        expect(revoked).to.equal(true);
        expect(checked?.id ?? null).to.be.oneOf([raced.id, null]);
        expect(await store.check("alice", raced.id, clock.now(), 0)).to.equal(null);
        await expectGone(raced);
        expect(await open.held()).to.equal(0);
        expect(await userKeys("alice")).to.deep.equal([]);
      });
    });

    // ---- deadlines ---------------------------------------------------------

    describe("deadlines", () => {
      it("an idle session dies at lastUsedAt + idleTimeout and is deleted when checked", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        const { record: keeper } = await create("alice", { idleTimeout: DAY });
        clock.advance(HOUR - 1);
        expectChecked(await store.check("alice", record.id, clock.now(), DAY), record);
        clock.advance(1); // deadline == now: dead
        expect(await store.check("alice", record.id, clock.now(), MINUTE)).to.equal(null);
        await expectGone(record);
        await expectIndex("alice", [keeper]);
        expect(await open.held()).to.equal(1);
      });

      it("a dead session is null from get and deleted", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        clock.advance(2 * HOUR);
        expect(await store.get("alice", record.id, clock.now())).to.equal(null);
        expect(await open.held()).to.equal(0);
        await expectGone(record);
        expect(await userKeys("alice")).to.deep.equal([]);
      });

      it("the idle deadline never slides past the absolute one", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR, absoluteLifetime: 2 * HOUR });
        clock.advance(50 * MINUTE);
        let touched = await store.check("alice", record.id, clock.now(), MINUTE);
        expect(touched?.lastUsedAt).to.equal(clock.now());
        await expectSessionTtl(touched!);
        clock.advance(50 * MINUTE); // 1 h 40 min: idle would give 2 h 40 min, the cap is 2 h
        touched = await store.check("alice", record.id, clock.now(), MINUTE);
        expect(touched?.lastUsedAt).to.equal(clock.now());
        if (open.redis) expectPttl(await open.redis.client.pttl(sKey("alice", record.id)), 20 * MINUTE, "session capped by its lifetime");
        await expectIndexOutlivesSessions("alice");
        clock.advance(20 * MINUTE - 1);
        expect(await store.check("alice", record.id, clock.now(), HOUR)).to.not.equal(null);
        clock.advance(1); // exactly createdAt + absoluteLifetime, though used 20 min ago
        expect(await store.check("alice", record.id, clock.now(), MINUTE)).to.equal(null);
        await expectGone(record);
      });

      it("an absolute-only session dies at createdAt + absoluteLifetime whatever its use", async () => {
        const { record } = await create("alice", { idleTimeout: null, absoluteLifetime: 2 * HOUR });
        await expectSessionTtl(record);
        clock.advance(90 * MINUTE);
        expect((await store.check("alice", record.id, clock.now(), 0))?.lastUsedAt).to.equal(clock.now());
        if (open.redis)
          expectPttl(await open.redis.client.pttl(sKey("alice", record.id)), 30 * MINUTE, "absolute-only session after touch");
        clock.advance(30 * MINUTE);
        expect(await store.check("alice", record.id, clock.now(), 0)).to.equal(null);
        await expectGone(record);
      });

      it("a forever session has no TTL and is alive after years, touched or not", async () => {
        const { record } = await create("alice", { idleTimeout: null, absoluteLifetime: null, rememberMe: true });
        await expectSessionTtl(record);
        await expectIndexTtl("alice", [record]);
        clock.advance(10 * YEAR);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(record);
        const touched = await store.check("alice", record.id, clock.now(), MINUTE);
        expectChecked(touched, { ...record, lastUsedAt: clock.now() });
        await expectSessionTtl(touched!);
        await expectIndexTtl("alice", [touched!]);
        clock.advance(10 * YEAR);
        expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal([record.id]);
        await expectIndexTtl("alice", [touched!]);
      });

      it("a remember-me-like session lives on with use until its long lifetime, then dies", async () => {
        const { record } = await create("alice", { idleTimeout: 30 * DAY, absoluteLifetime: 365 * DAY, rememberMe: true });
        await expectSessionTtl(record);
        let last = record;
        while (clock.now() + 29 * DAY < record.createdAt + 365 * DAY) {
          clock.advance(29 * DAY);
          const touched = await store.check("alice", record.id, clock.now(), MINUTE);
          expect(touched, `alive at day ${(clock.now() - record.createdAt) / DAY}`).to.not.equal(null);
          expect(touched!.lastUsedAt).to.equal(clock.now());
          last = touched!;
        }
        await expectSessionTtl(last);
        clock.set(record.createdAt + 365 * DAY);
        expect(await store.check("alice", record.id, clock.now(), MINUTE)).to.equal(null);
        await expectGone(record);
      });

      it("a remember-me-like session dies after its long idle timeout when unused", async () => {
        const { record } = await create("alice", { idleTimeout: 30 * DAY, absoluteLifetime: 365 * DAY, rememberMe: true });
        clock.advance(30 * DAY - 1);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(record);
        clock.advance(1);
        expect(await store.check("alice", record.id, clock.now(), MINUTE)).to.equal(null);
        await expectGone(record);
      });
    });

    // ---- expiries and pruning (PTTLs are Redis-only assertions) -----------

    describe("expiries and pruning", () => {
      it("sets the session key's expiry at its deadline and the index's at the furthest deadline", async () => {
        const { record: hour } = await create("alice", { idleTimeout: HOUR });
        await expectSessionTtl(hour);
        await expectIndexTtl("alice", [hour]);
        const { record: day } = await create("alice", { idleTimeout: DAY });
        await expectSessionTtl(day);
        await expectIndexTtl("alice", [hour, day]);
        const { record: shorter } = await create("alice", { idleTimeout: 10 * MINUTE });
        await expectSessionTtl(shorter);
        await expectIndexTtl("alice", [hour, day, shorter]);
        const { record: capped } = await create("alice", { idleTimeout: 5 * DAY, absoluteLifetime: 2 * DAY });
        await expectSessionTtl(capped);
        await expectIndexTtl("alice", [hour, day, shorter, capped]);
        await expectIndex("alice", [hour, day, shorter, capped]);
      });

      it("keeps the index without expiry while a forever session is in it", async () => {
        const { record: normal } = await create("alice", { idleTimeout: HOUR });
        const { record: forever } = await create("alice", { idleTimeout: null, absoluteLifetime: null });
        await expectIndexTtl("alice", [normal, forever]);
        if (open.redis) expect(await open.redis.client.pttl(iKey("alice"))).to.equal(-1);
        const { record: later } = await create("alice", { idleTimeout: HOUR });
        await expectIndexTtl("alice", [normal, forever, later]);
        // Once the forever session is gone, list puts an expiry back on the index.
        expect(await store.revoke("alice", forever.id, clock.now())).to.equal(true);
        clock.advance(10 * MINUTE);
        expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal(sortedIds([normal, later]));
        await expectIndexTtl("alice", [normal, later]);
      });

      // The index has no expiry only while a forever session is in
      // it. Each single-session way out of the store must give it one back
      // when the forever session leaves, not only list and create.
      const removals: Array<{ how: string; remove: (forever: SessionRecord) => Promise<void> }> = [
        { how: "revoke", remove: async (f) => void expect(await store.revoke(f.userId, f.id, clock.now())).to.equal(true) },
        {
          how: "rotate (a spent token reused)",
          remove: async (f) => void expect((await rotate(f, 0, "h0", "h1")).status).to.equal("reused"),
        },
        {
          how: "revokeByRefresh",
          remove: async (f) =>
            void expect(await store.revokeByRefresh(f.userId, f.id, 1, "h1", clock.now(), REUSE_WINDOW)).to.equal("ended"),
        },
        {
          how: "rotate (a token two generations old)",
          remove: async (f) => {
            expect((await rotate(f, 1, "h1", "h2")).status).to.equal("rotated");
            expect((await rotate(f, 0, "h0", "h1")).status).to.equal("reused");
          },
        },
      ];
      for (const { how, remove } of removals) {
        it(`gives the index an expiry again when ${how} removes its forever session, pruning dead entries`, async () => {
          const { record: forever } = await create("alice", { idleTimeout: null, absoluteLifetime: null, rememberMe: true });
          const { record: normal } = await create("alice", { idleTimeout: DAY, absoluteLifetime: 30 * DAY });
          const { record: short } = await create("alice", { idleTimeout: HOUR });
          clock.advance(MINUTE);
          expect((await rotate(forever, 0, "h0", "h1")).status).to.equal("rotated");
          if (open.redis) expect(await open.redis.client.pttl(iKey("alice")), "index while the forever session is in it").to.equal(-1);
          clock.advance(2 * HOUR); // `short` is dead now, still indexed
          await remove(forever);
          await expectGone(forever);
          await expectGone(short);
          await expectIndex("alice", [normal]);
          await expectIndexTtl("alice", [normal]); // normal's deadline − now, not persistent
          expect((await store.list("alice", clock.now())).map(fields)).to.deep.equal([normal]);
        });
      }

      it("keeps the index without expiry while another forever session remains, and drops it with the last session", async () => {
        const { record: first } = await create("alice", { idleTimeout: null, absoluteLifetime: null });
        const { record: second } = await create("alice", { idleTimeout: null, absoluteLifetime: null });
        const { record: normal } = await create("alice", { idleTimeout: HOUR });
        clock.advance(MINUTE);
        expect(await store.revoke("alice", first.id, clock.now())).to.equal(true);
        await expectIndex("alice", [second, normal]);
        await expectIndexTtl("alice", [second, normal]); // still persistent
        expect(await store.revoke("alice", second.id, clock.now())).to.equal(true);
        await expectIndexTtl("alice", [normal]);
        expect(await store.revoke("alice", normal.id, clock.now())).to.equal(true);
        expect(await userKeys("alice")).to.deep.equal([]);

        const { record: alone } = await create("bob", { idleTimeout: null, absoluteLifetime: null });
        const { record: dead } = await create("bob", { idleTimeout: HOUR });
        clock.advance(2 * HOUR);
        expect(await store.revoke("bob", alone.id, clock.now())).to.equal(true);
        await expectGone(dead);
        expect(await userKeys("bob"), "an index left with only dead entries").to.deep.equal([]);
        expect(await open.held()).to.equal(0);
      });

      it("list prunes dead entries and resets the index's expiry to the furthest live deadline", async () => {
        const { record: long } = await create("alice", { idleTimeout: 10 * HOUR });
        const { record: short1 } = await create("alice", { idleTimeout: HOUR });
        const { record: short2 } = await create("alice", { idleTimeout: 2 * HOUR, absoluteLifetime: 90 * MINUTE });
        expect(await open.held()).to.equal(3);
        clock.advance(2 * HOUR);
        if (open.redis) {
          // Dead by the clock, still in Redis until an operation meets them.
          expect(await open.redis.client.zcard(iKey("alice"))).to.equal(3);
        }
        const listed = await store.list("alice", clock.now());
        expect(listed.map(fields)).to.deep.equal([long]);
        expect(await open.held()).to.equal(1);
        await expectIndex("alice", [long]);
        await expectGone(short1);
        await expectGone(short2);
        await expectIndexTtl("alice", [long]); // 8 h: from the fake now, not from the first write
        if (open.redis) expect(await open.redis.client.zcard(iKey("alice"))).to.equal(1);
      });

      it("list of a user whose sessions all died leaves nothing behind", async () => {
        await create("alice", { idleTimeout: HOUR });
        await create("alice", { idleTimeout: 2 * HOUR });
        clock.advance(3 * HOUR);
        expect(await store.list("alice", clock.now())).to.deep.equal([]);
        expect(await open.held()).to.equal(0);
        expect(await userKeys("alice")).to.deep.equal([]);
      });

      it("create prunes dead entries from the index and sets the index's expiry from the fake now", async () => {
        const { record: dead } = await create("alice", { idleTimeout: HOUR });
        const { record: long } = await create("alice", { idleTimeout: 10 * HOUR });
        clock.advance(2 * HOUR);
        const { record: fresh, evicted } = await create("alice", { idleTimeout: HOUR });
        expect(evicted, "dead sessions are pruned, not reported as evicted").to.deep.equal([]);
        await expectIndex("alice", [long, fresh]);
        await expectGone(dead);
        expect(await open.held()).to.equal(2);
        await expectSessionTtl(fresh);
        await expectIndexTtl("alice", [long, fresh]);
      });

      it("every key left has an expiry when no forever session exists", async () => {
        const { record: a } = await create("alice", { idleTimeout: HOUR });
        await create("alice", { idleTimeout: null, absoluteLifetime: 3 * DAY });
        clock.advance(2 * MINUTE);
        await store.check("alice", a.id, clock.now(), MINUTE);
        await rotate(a, 0, "h0", "h1");
        await create("bob", { idleTimeout: 15 * MINUTE, absoluteLifetime: HOUR });
        await store.list("alice", clock.now());
        if (!open.redis) return;
        const keys = await open.redis.client.keys("*");
        expect(keys.length).to.be.greaterThan(0);
        for (const key of keys) expect(await open.redis.client.pttl(key), key).to.be.greaterThan(0);
      });
    });

    // ---- eviction ------------------------------------------------------------

    describe("maxSessions eviction", () => {
      it("evicts the least recently used sessions beyond the cap and returns their ids", async () => {
        const { record: s1 } = await create("alice");
        clock.advance(MINUTE);
        const { record: s2 } = await create("alice");
        clock.advance(MINUTE);
        const { record: s3 } = await create("alice");
        clock.advance(MINUTE);
        const s1touched = await store.check("alice", s1.id, clock.now(), MINUTE); // s1 is now the most recent
        expect(s1touched?.lastUsedAt).to.equal(clock.now());
        clock.advance(MINUTE);
        const { record: s4, evicted } = await create("alice", { maxSessions: 3 });
        expect(evicted).to.deep.equal([s2.id]);
        await expectGone(s2);
        expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal(sortedIds([s1, s3, s4]));
        await expectIndex("alice", [s1touched!, s3, s4]);
        clock.advance(MINUTE);
        const { record: s5, evicted: evicted2 } = await create("alice", { maxSessions: 2 });
        expect([...evicted2].sort()).to.deep.equal(sortedIds([s1, s3]));
        expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal(sortedIds([s4, s5]));
        expect(await open.held()).to.equal(2);
        if (open.redis) expect(await open.redis.client.zcard(iKey("alice"))).to.equal(2);
      });

      it("counts a rotation as use", async () => {
        const { record: s1 } = await create("alice");
        clock.advance(MINUTE);
        const { record: s2 } = await create("alice");
        clock.advance(MINUTE);
        expect((await rotate(s1, 0, "h0", "h1")).status).to.equal("rotated");
        clock.advance(MINUTE);
        const { evicted } = await create("alice", { maxSessions: 2 });
        expect(evicted).to.deep.equal([s2.id]);
      });

      it("cap 1: a new session evicts the previous one", async () => {
        const { record: first } = await create("alice", { maxSessions: 1 });
        clock.advance(SECOND);
        const { record: second, evicted } = await create("alice", { maxSessions: 1 });
        expect(evicted).to.deep.equal([first.id]);
        await expectGone(first);
        expect((await store.list("alice", clock.now())).map(fields)).to.deep.equal([second]);
        expect(await userKeys("alice")).to.have.length(open.redis ? 2 : 0);
      });

      it("never evicts the session being created, even when it is the least recently used", async () => {
        const { record: recent } = await create("alice");
        const record = makeRecord("alice");
        record.createdAt -= HOUR; // back-dated: older than the one already there
        record.lastUsedAt -= HOUR;
        const evicted = await store.create({ record: { ...record }, refreshHash: "h0", maxSessions: 1, now: clock.now() });
        expect(evicted).to.deep.equal([recent.id]);
        expect((await store.list("alice", clock.now())).map(fields)).to.deep.equal([record]);
      });

      it("null means no cap", async () => {
        const ids: string[] = [];
        for (let i = 0; i < 30; i++) {
          const { record, evicted } = await create("alice", { maxSessions: null });
          expect(evicted).to.deep.equal([]);
          ids.push(record.id);
        }
        expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal([...ids].sort());
      });

      it("parallel creates against a cap leave exactly the cap, none evicting itself", async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => create("alice", { maxSessions: 5 })));
        const all = results.map((r) => r.record.id);
        const evicted = results.flatMap((r) => r.evicted);
        for (const r of results) expect(r.evicted, "a create evicted its own session").to.not.include(r.record.id);
        expect(new Set(evicted).size, "an id evicted twice").to.equal(evicted.length);
        const live = await store.list("alice", clock.now());
        expect(live).to.have.length(5);
        expect(evicted).to.have.length(15);
        expect([...sortedIds(live), ...evicted].sort()).to.deep.equal([...all].sort());
        expect(await open.held()).to.equal(5);
        if (open.redis) {
          expect(await open.redis.client.zcard(iKey("alice"))).to.equal(5);
          expect(await userKeys("alice")).to.have.length(6);
        }
      });

      it("evicts only the creating user's sessions", async () => {
        const { record: other } = await create("bob");
        await create("alice", { maxSessions: 1 });
        const { evicted } = await create("alice", { maxSessions: 1 });
        expect(evicted).to.have.length(1);
        expect(fields(await store.get("bob", other.id, clock.now()))).to.deep.equal(other);
      });
    });

    // ---- rotate ----------------------------------------------------------------

    describe("rotate", () => {
      it("rotated: the successor becomes current, lastUsedAt = now, ip and user agent updated", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        clock.advance(20 * MINUTE);
        const result = await rotate(record, 0, "h0", "h1", { ip: "192.0.2.1", userAgent: "new-agent" });
        const expected = { ...record, lastUsedAt: clock.now(), ip: "192.0.2.1", userAgent: "new-agent" };
        expect(result.status).to.equal("rotated");
        expect(fields((result as { record: SessionRecord }).record)).to.deep.equal(expected);
        expect(fields(await store.get("alice", record.id, clock.now()))).to.deep.equal(expected);
        await expectIndex("alice", [expected]);
        await expectSessionTtl(expected);
        await expectIndexOutlivesSessions("alice");
        clock.advance(REUSE_WINDOW + 1);
        expect((await rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
        clock.advance(REUSE_WINDOW + 1);
        expect((await rotate(record, 2, "h2", "h3")).status).to.equal("rotated");
      });

      it("rotation never moves createdAt or the absolute deadline", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR, absoluteLifetime: 2 * HOUR });
        clock.advance(50 * MINUTE);
        expect((await rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
        clock.advance(40 * MINUTE); // 1 h 30 min: idle would give 2 h 30 min, the cap is 2 h
        const result = await rotate(record, 1, "h1", "h2");
        expect(result.status).to.equal("rotated");
        const after = (result as { record: SessionRecord }).record;
        expect(after.createdAt).to.equal(record.createdAt);
        expect(after.absoluteLifetime).to.equal(2 * HOUR);
        expect(after.lastUsedAt).to.equal(clock.now());
        if (open.redis)
          expectPttl(await open.redis.client.pttl(sKey("alice", record.id)), 30 * MINUTE, "session after rotation near its lifetime");
        await expectIndexOutlivesSessions("alice");
        clock.advance(30 * MINUTE);
        expect((await rotate(record, 2, "h2", "h3")).status).to.equal("invalid");
        await expectGone(record);
      });

      it("repeated: the token spent last, within the window, changes nothing", async () => {
        const { record } = await create("alice");
        clock.advance(MINUTE);
        const first = await rotate(record, 0, "h0", "h1", { ip: "192.0.2.1", userAgent: "tab-1" });
        expect(first.status).to.equal("rotated");
        const afterRotation = await snapshot(record);
        const current = fields(await store.get("alice", record.id, clock.now()));
        clock.advance(REUSE_WINDOW);
        const again = await rotate(record, 0, "h0", "h1", { ip: "192.0.2.2", userAgent: "tab-2" });
        expect(again.status).to.equal("repeated");
        expect(fields((again as { record: SessionRecord }).record)).to.deep.equal(current);
        expect(await snapshot(record)).to.deep.equal(afterRotation);
        // The successor is still the current token.
        expect((await rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
      });

      it("parallel rotations of one token: exactly one rotated, the rest repeated", async () => {
        const { record } = await create("alice");
        clock.advance(MINUTE);
        const results = await Promise.all(Array.from({ length: 10 }, () => rotate(record, 0, "h0", "h1")));
        const statuses = results.map((r) => r.status).sort();
        expect(statuses).to.deep.equal(["repeated", ...Array(8).fill("repeated"), "rotated"].sort());
        expect((await rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
      });

      it("reused: the token spent last, after the window, revokes the session", async () => {
        const { record } = await create("alice");
        const { record: other } = await create("alice");
        clock.advance(MINUTE);
        expect((await rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
        const current = fields(await store.get("alice", record.id, clock.now()));
        clock.advance(REUSE_WINDOW + 1);
        const result = await rotate(record, 0, "h0", "h1");
        expect(result.status).to.equal("reused");
        expect(fields((result as { record: SessionRecord }).record)).to.deep.equal(current);
        await expectGone(record);
        await expectIndex("alice", [other]);
        expect((await rotate(record, 1, "h1", "h2")).status).to.equal("invalid");
        expect(await store.check("alice", record.id, clock.now(), 0)).to.equal(null);
      });

      it("reused: a token two or more generations old, even within the window, revokes the session", async () => {
        const { record } = await create("alice");
        const { record: other } = await create("alice");
        clock.advance(SECOND);
        expect((await rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
        clock.advance(SECOND);
        expect((await rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
        const current = fields(await store.get("alice", record.id, clock.now()));
        clock.advance(SECOND);
        // The caller vouches for the token (its MAC): the store decides by generation alone.
        const result = await rotate(record, 0, "h0", "h1");
        expect(result.status).to.equal("reused");
        expect(fields((result as { record: SessionRecord }).record)).to.deep.equal(current);
        await expectGone(record);
        await expectIndex("alice", [other]);
        expect((await rotate(record, 2, "h2", "h3")).status, "the current token is dead too").to.equal("invalid");
      });

      it("invalid: wrong digest, never-issued previous token, future generation, unknown or foreign session; nothing changes", async () => {
        const { record } = await create("alice");
        clock.advance(MINUTE);
        expect((await rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
        const before = await snapshot(record);
        clock.advance(HOUR); // well past the reuse window
        expect(await rotate(record, 1, "wrong", "x")).to.deep.equal({ status: "invalid" });
        expect(await rotate(record, 0, "never-issued", "x"), "a made-up token of the previous generation").to.deep.equal({
          status: "invalid",
        });
        expect(await rotate(record, 2, "h2", "h3"), "a future generation").to.deep.equal({ status: "invalid" });
        expect(await rotate(record, 7, "h7", "h8"), "a far future generation").to.deep.equal({ status: "invalid" });
        expect(await rotate({ ...record, id: newId() }, 1, "h1", "h2"), "an unknown session").to.deep.equal({ status: "invalid" });
        expect(await rotate({ ...record, userId: "mallory" }, 1, "h1", "h2"), "another user's session").to.deep.equal({
          status: "invalid",
        });
        expect(await snapshot(record)).to.deep.equal(before);
        expect((await rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
      });

      it("a rotation racing a revoke never leaves a live or half-written session", async () => {
        const { record } = await create("alice");
        clock.advance(MINUTE);
        const [rotated, revoked] = await Promise.all([rotate(record, 0, "h0", "h1"), store.revoke("alice", record.id, clock.now())]);
        expect(rotated.status).to.be.oneOf(["rotated", "invalid"]);
        expect(revoked).to.equal(true);
        await expectGone(record);
        expect(await rotate(record, 1, "h1", "h2")).to.deep.equal({ status: "invalid" });
        expect(await userKeys("alice")).to.deep.equal([]);
        expect(await open.held()).to.equal(0);
      });

      it("invalid for a dead session, which is deleted", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        clock.advance(HOUR);
        expect(await rotate(record, 0, "h0", "h1")).to.deep.equal({ status: "invalid" });
        await expectGone(record);
        expect(await open.held()).to.equal(0);
      });

      it("revokeByRefresh ends the session for the current token or the one spent last inside the window", async () => {
        const a = (await create("alice")).record;
        const b = (await create("alice")).record;
        const c = (await create("alice")).record;
        clock.advance(SECOND);
        for (const r of [a, b, c]) {
          expect((await rotate(r, 0, "h0", "h1")).status).to.equal("rotated");
        }
        clock.advance(HOUR);
        const before = await snapshot(a);
        const logout = (r: SessionRecord, generation: number, hash: string, userId = "alice") =>
          store.revokeByRefresh(userId, r.id, generation, hash, clock.now(), REUSE_WINDOW);
        expect(await logout(a, 1, "wrong"), "wrong digest").to.equal("invalid");
        expect(await logout(a, 0, "never-issued"), "made-up previous").to.equal("invalid");
        expect(await logout(a, 2, "h2"), "future generation").to.equal("invalid");
        expect(await logout(a, 1, "h1", "mallory"), "another user").to.equal("invalid");
        expect(await logout({ ...a, id: newId() }, 1, "h1"), "unknown session").to.equal("invalid");
        expect(await snapshot(a), "nothing matched: nothing changed").to.deep.equal(before);
        expect(await logout(a, 1, "h1"), "current token").to.equal("ended");
        await expectGone(a);
        expect(await logout(a, 1, "h1"), "already revoked").to.equal("invalid");
        expect((await rotate(b, 1, "h1", "h2")).status).to.equal("rotated");
        clock.advance(REUSE_WINDOW);
        expect(await logout(b, 1, "h1"), "token spent last, inside the window").to.equal("ended");
        await expectGone(b);
        expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal([c.id]);
      });

      it("revokeByRefresh with a spent token is reuse: the session is revoked", async () => {
        const a = (await create("alice")).record;
        const b = (await create("alice")).record;
        const c = (await create("alice")).record;
        clock.advance(SECOND);
        for (const r of [a, b]) expect((await rotate(r, 0, "h0", "h1")).status).to.equal("rotated");
        clock.advance(SECOND);
        expect((await rotate(b, 1, "h1", "h2")).status).to.equal("rotated");
        expect(
          await store.revokeByRefresh("alice", b.id, 0, "h0", clock.now(), REUSE_WINDOW),
          "two generations old, in the window",
        ).to.equal("reused");
        await expectGone(b);
        clock.advance(HOUR);
        expect(await store.revokeByRefresh("alice", a.id, 0, "h0", clock.now(), REUSE_WINDOW), "spent last, after the window").to.equal(
          "reused",
        );
        await expectGone(a);
        await expectIndex("alice", [c]);
      });

      it("revokeByRefresh of a dead session is invalid and deletes it", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        clock.advance(2 * HOUR);
        expect(await store.revokeByRefresh("alice", record.id, 0, "h0", clock.now(), REUSE_WINDOW)).to.equal("invalid");
        await expectGone(record);
      });
    });

    // ---- revoke and revokeAll ----------------------------------------------

    describe("revoke", () => {
      it("resolves true once, then false", async () => {
        const { record } = await create("alice");
        const { record: other } = await create("alice");
        expect(await store.revoke("alice", record.id, clock.now())).to.equal(true);
        await expectGone(record);
        expect(await store.revoke("alice", record.id, clock.now())).to.equal(false);
        await expectIndex("alice", [other]);
        expect(await open.held()).to.equal(1);
      });

      it("is false for an unknown session, another user's session (left alone) and a dead one (deleted)", async () => {
        const { record } = await create("alice", { idleTimeout: HOUR });
        expect(await store.revoke("alice", newId(), clock.now())).to.equal(false);
        const before = await snapshot(record);
        expect(await store.revoke("mallory", record.id, clock.now())).to.equal(false);
        expect(await snapshot(record)).to.deep.equal(before);
        clock.advance(HOUR);
        expect(await store.revoke("alice", record.id, clock.now()), "a dead session").to.equal(false);
        await expectGone(record);
        expect(await open.held()).to.equal(0);
      });
    });

    describe("revokeAll", () => {
      it("deletes every session of the user and resolves to the live ids deleted", async () => {
        const { record: dead } = await create("alice", { idleTimeout: HOUR });
        const { record: a } = await create("alice", { idleTimeout: DAY });
        const { record: b } = await create("alice", { idleTimeout: null, absoluteLifetime: null });
        const { record: bobs } = await create("bob");
        clock.advance(2 * HOUR);
        const revoked = await store.revokeAll("alice", undefined, clock.now());
        expect([...revoked].sort()).to.deep.equal(sortedIds([a, b]));
        for (const r of [dead, a, b]) await expectGone(r);
        expect(await userKeys("alice")).to.deep.equal([]);
        expect(await store.list("alice", clock.now())).to.deep.equal([]);
        expect(fields(await store.get("bob", bobs.id, clock.now()))).to.deep.equal(bobs);
        expect(await open.held()).to.equal(1);
        expect(await store.revokeAll("alice", undefined, clock.now())).to.deep.equal([]);
      });

      it("with except keeps exactly that session", async () => {
        const { record: dead } = await create("alice", { idleTimeout: HOUR });
        const { record: a } = await create("alice");
        const { record: keep } = await create("alice");
        const { record: c } = await create("alice");
        clock.advance(2 * HOUR);
        const revoked = await store.revokeAll("alice", keep.id, clock.now());
        expect([...revoked].sort()).to.deep.equal(sortedIds([a, c]));
        for (const r of [dead, a, c]) await expectGone(r);
        expect((await store.list("alice", clock.now())).map(fields)).to.deep.equal([keep]);
        expect(await userKeys("alice")).to.deep.equal(open.redis ? [iKey("alice"), sKey("alice", keep.id)].sort() : []);
        await expectIndex("alice", [keep]);
        await expectIndexOutlivesSessions("alice");
        expect(await store.revokeAll("alice", keep.id, clock.now())).to.deep.equal([]);
        expect(fields(await store.get("alice", keep.id, clock.now()))).to.deep.equal(keep);
      });

      it("with an except id that is not the user's deletes them all", async () => {
        const { record: a } = await create("alice");
        const { record: bobs } = await create("bob");
        expect(await store.revokeAll("alice", bobs.id, clock.now())).to.deep.equal([a.id]);
        expect(await userKeys("alice")).to.deep.equal([]);
        expect(fields(await store.get("bob", bobs.id, clock.now()))).to.deep.equal(bobs);
      });
    });

    // ---- Redis only --------------------------------------------------------

    if (factory.redis) {
      describe("Redis specifics", () => {
        it("uses the key layout of keys.ts under the store's prefix", async () => {
          const { client } = open.redis!;
          const { record } = await create("carol");
          expect((await client.keys("*")).sort()).to.deep.equal([iKey("carol"), sKey("carol", record.id)].sort());
          expect(await client.type(sKey("carol", record.id))).to.equal("string");
          expect(await client.type(iKey("carol"))).to.equal("zset");
        });

        if (factory.singleServer !== false)
          it("a check costs one round trip when a touch is due too", async () => {
            const { record } = await create("alice", { idleTimeout: HOUR });
            await store.check("alice", record.id, clock.now(), MINUTE); // loads the script
            clock.advance(10 * MINUTE);
            const { result, roundTrips } = await recordCommands(open.redis!.url, () =>
              store.check("alice", record.id, clock.now(), MINUTE),
            );
            expect(result?.lastUsedAt).to.equal(clock.now());
            expect(
              roundTrips.map((c) => c.name),
              "round trips of one touching check",
            ).to.have.length(1);
          });

        it("recovers from SCRIPT FLUSH before every operation (NOSCRIPT)", async () => {
          const { client } = open.redis!;
          const flush = () => client.script("FLUSH");
          const { record } = await create("alice", { idleTimeout: HOUR });
          await flush();
          const { record: other } = await create("alice", { idleTimeout: HOUR });
          clock.advance(10 * MINUTE);
          await flush();
          expect((await store.check("alice", record.id, clock.now(), MINUTE))?.lastUsedAt).to.equal(clock.now());
          await flush();
          expect(fields(await store.get("alice", other.id, clock.now()))).to.deep.equal(other);
          await flush();
          expect((await rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
          await flush();
          expect((await rotate(record, 0, "h0", "h1")).status).to.equal("repeated");
          await flush();
          expect(await rotate(record, 5, "h5", "h6")).to.deep.equal({ status: "invalid" });
          await flush();
          expect(sortedIds(await store.list("alice", clock.now()))).to.deep.equal(sortedIds([record, other]));
          await flush();
          expect(await store.revokeByRefresh("alice", other.id, 0, "h0", clock.now(), REUSE_WINDOW)).to.equal("ended");
          await flush();
          expect(await store.revoke("alice", newId(), clock.now())).to.equal(false);
          await flush();
          expect(await store.revokeAll("alice", undefined, clock.now())).to.deep.equal([record.id]);
          expect(await userKeys("alice")).to.deep.equal([]);
        });
      });
    }
  });
}
