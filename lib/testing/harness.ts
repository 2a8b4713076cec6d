/**
 * What every case of the store contract suite works with: the store under
 * test, a clock of the suite's own (time is always passed to a store, never
 * read), helpers that create and rotate sessions, and the assertions on
 * what the backend holds, which run only when the store's author gave an
 * {@link StoreInspector}.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { deadlineOf, type RotateInput, type RotateResult, type SessionRecord, type Store } from "../stores/store.js";
import { expect } from "./expect.js";

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const YEAR = 365 * DAY;
/** Where the suite's clock starts: 2024-01-01T00:00:00Z. */
const EPOCH = Date.UTC(2024, 0, 1);
export const REUSE_WINDOW = 10 * SECOND;
/** Time-to-live readings are taken a few ms after the write; allow this much real time to have passed. */
const TTL_SLACK_MS = 1000;

/**
 * Optional views into the backend a store writes to, so the suite can check
 * what is physically left behind, not only what the store answers. Give the
 * methods your backend can answer; each assertion that needs a missing one
 * is skipped.
 *
 * @example
 * ```ts
 * const inspect: StoreInspector = {
 *   held: async () => (await redis.keys(`${prefix}*:s:*`)).length,
 *   holds: async (userId, sessionId) => (await redis.exists(sessionKeyOf(userId, sessionId))) === 1,
 *   entries: async (userId) => (await redis.keys(`${prefix}{${b64(userId)}}*`)).length,
 * };
 * ```
 */
export interface StoreInspector {
  /** Sessions physically held, live or dead, across all users. */
  held?(): Promise<number>;
  /** Whether the session is physically held (live or dead). */
  holds?(userId: string, sessionId: string): Promise<boolean>;
  /** How many entries (keys, rows, documents) the backend holds for the user, sessions and index alike. */
  entries?(userId: string): Promise<number>;
  /** A per-user index, if the store keeps one: session id → the score it is ordered by (the session's last use). */
  indexed?(userId: string): Promise<Record<string, number>>;
  /**
   * For a backend that drops entries by itself after a time set at each
   * write (Redis `PEXPIRE`, a TTL attribute): the milliseconds left on the
   * session's entry, or on the user's index without `sessionId`; `null`
   * when it never expires.
   */
  timeToLive?(userId: string, sessionId?: string): Promise<number | null>;
  /** Names of every entry in the backend that never expires (all should, unless a forever session lives). */
  unexpiring?(): Promise<string[]>;
  /** The stored form of a session, compared before and after an operation that must change nothing. */
  raw?(userId: string, sessionId: string): Promise<unknown>;
}

/** Options of one session the suite creates; every field has a default. */
export interface SessionOptions {
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

/** The suite's clock: starts at a fixed time and only moves when told. */
export class Clock {
  #now = EPOCH;
  now(): number {
    return this.#now;
  }
  advance(ms: number): number {
    this.#now += ms;
    return this.#now;
  }
  set(ms: number): number {
    this.#now = ms;
    return this.#now;
  }
}

/** One case's store, clock and helpers. */
export class Contract {
  readonly clock = new Clock();

  constructor(
    readonly store: Store,
    readonly inspect: StoreInspector,
  ) {}

  newId(): string {
    return randomBytes(16).toString("base64url");
  }

  makeRecord(userId: string, options: SessionOptions = {}): SessionRecord {
    const now = this.clock.now();
    return {
      id: options.id ?? this.newId(),
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
  async create(userId: string, options: SessionOptions = {}): Promise<{ record: SessionRecord; evicted: string[] }> {
    const record = this.makeRecord(userId, options);
    const evicted = await this.store.create({
      record: { ...record },
      refreshHash: options.refreshHash ?? "h0",
      maxSessions: options.maxSessions === undefined ? null : options.maxSessions,
      now: this.clock.now(),
    });
    return { record, evicted };
  }

  rotate(
    record: SessionRecord,
    generation: number,
    presentedHash: string,
    successorHash: string,
    extra: Partial<RotateInput> = {},
  ): Promise<RotateResult> {
    return this.store.rotate({
      userId: record.userId,
      sessionId: record.id,
      generation,
      presentedHash,
      successorHash,
      now: this.clock.now(),
      reuseWindow: REUSE_WINDOW,
      ip: "198.51.100.20",
      userAgent: "rotating-agent/2.0",
      ...extra,
    });
  }

  get(userId: string, sessionId: string): Promise<SessionRecord | null> {
    return this.store.get(userId, sessionId, this.clock.now());
  }

  /** The contract's fields of what `get` returns now (null for none). */
  async stored(userId: string, sessionId: string): Promise<Partial<SessionRecord> | null> {
    return fields(await this.get(userId, sessionId));
  }

  /**
   * A record from `check`: every contract field as expected, except that a
   * store may return `claims`, `ip` and `userAgent` as `""`.
   */
  expectChecked(actual: SessionRecord | null, expected: SessionRecord): void {
    expect(actual === null, "the record from check is null").to.equal(false);
    const got = fields(actual)!;
    for (const name of CHECK_MAY_BLANK) {
      expect(got[name], `${name} from check`).to.be.oneOf(["", expected[name]]);
      (got as Record<string, unknown>)[name] = expected[name];
    }
    expect(got).to.deep.equal(expected);
  }

  async held(): Promise<number | undefined> {
    return this.inspect.held?.();
  }

  /** Expects `count` sessions physically held, when the inspector can tell. */
  async expectHeld(count: number): Promise<void> {
    const held = await this.held();
    if (held !== undefined) expect(held, "sessions held").to.equal(count);
  }

  /** Expects a time to live of `expected` ms (less the real time since the write), or none for `null`. */
  expectTtl(actual: number | null, expected: number | null, what: string): void {
    if (expected === null) {
      expect(actual, `${what}: time to live (no expiry expected)`).to.equal(null);
      return;
    }
    expect(actual, `${what}: time to live`).to.be.at.most(expected);
    expect(actual, `${what}: time to live`).to.be.above(expected - TTL_SLACK_MS);
  }

  /** The backend expires the session `expected` ms after the last write (when it expires entries itself). */
  async expectSessionTtlOf(userId: string, sessionId: string, expected: number | null, what = `session ${sessionId}`): Promise<void> {
    if (!this.inspect.timeToLive) return;
    this.expectTtl(await this.inspect.timeToLive(userId, sessionId), expected, what);
  }

  /** The backend expires the session at its deadline (the clock's time at the last write = `writtenAt`). */
  async expectSessionTtl(record: SessionRecord, writtenAt = this.clock.now()): Promise<void> {
    const deadline = deadlineOf(record);
    await this.expectSessionTtlOf(record.userId, record.id, deadline === null ? null : deadline - writtenAt);
  }

  /** The user's index expires at the furthest of these deadlines (never, if one is a forever session). */
  async expectIndexTtl(userId: string, records: SessionRecord[], writtenAt = this.clock.now()): Promise<void> {
    if (!this.inspect.timeToLive || !this.inspect.indexed) return;
    const deadlines = records.map(deadlineOf);
    const furthest = deadlines.includes(null) ? null : Math.max(...(deadlines as number[]));
    this.expectTtl(await this.inspect.timeToLive(userId), furthest === null ? null : furthest - writtenAt, `index of ${label(userId)}`);
  }

  /** The user's index lists exactly these sessions, scored by their last use. */
  async expectIndex(userId: string, records: SessionRecord[]): Promise<void> {
    if (!this.inspect.indexed) return;
    const expected: Record<string, number> = {};
    for (const r of records) expected[r.id] = r.lastUsedAt;
    expect(await this.inspect.indexed(userId), `index of ${label(userId)} (id → score)`).to.deep.equal(expected);
  }

  /** The user's index holds `count` entries, live or dead. */
  async expectIndexSize(userId: string, count: number): Promise<void> {
    if (!this.inspect.indexed) return;
    expect(Object.keys(await this.inspect.indexed(userId)).length, `entries in the index of ${label(userId)}`).to.equal(count);
  }

  /**
   * Every session in the index is held, and the index does not expire
   * before any of them: its time to live covers each session's
   * `deadline − now` (or it has none). Compared on the suite's clock, since
   * entries written at different times carry times relative to their write.
   */
  async expectIndexOutlivesSessions(userId: string): Promise<void> {
    if (!this.inspect.indexed) return;
    const indexTtl = this.inspect.timeToLive ? await this.inspect.timeToLive(userId) : undefined;
    const ids = Object.keys(await this.inspect.indexed(userId));
    expect(ids.length, "sessions in the index").to.be.greaterThan(0);
    for (const id of ids) {
      if (this.inspect.holds) expect(await this.inspect.holds(userId, id), `session ${id} is in the index but not held`).to.equal(true);
      const record = await this.get(userId, id);
      expect(record === null, `session ${id} in the index is not returned by get`).to.equal(false);
      const deadline = deadlineOf(record!);
      if (indexTtl === undefined) continue;
      if (deadline === null) expect(indexTtl, `index of a forever session ${id}`).to.equal(null);
      else if (indexTtl !== null) {
        expect(indexTtl, `index expiry vs the deadline of session ${id}`).to.be.above(deadline - this.clock.now() - TTL_SLACK_MS);
      }
    }
  }

  /** The session is gone: not held, not in the index, not returned. */
  async expectGone(record: SessionRecord): Promise<void> {
    if (this.inspect.holds) expect(await this.inspect.holds(record.userId, record.id), `session ${record.id} still held`).to.equal(false);
    if (this.inspect.indexed) {
      expect(Object.keys(await this.inspect.indexed(record.userId)), `index of ${label(record.userId)}`).to.not.include(record.id);
    }
    expect(await this.get(record.userId, record.id)).to.equal(null);
  }

  /** Nothing of the user is left in the backend. */
  async expectNothingLeft(userId: string): Promise<void> {
    if (this.inspect.entries) expect(await this.inspect.entries(userId), `entries left for ${label(userId)}`).to.equal(0);
  }

  /** What an operation that must change nothing has to leave as it was. */
  async snapshot(record: SessionRecord): Promise<unknown> {
    return {
      stored: this.inspect.raw ? await this.inspect.raw(record.userId, record.id) : await this.stored(record.userId, record.id),
      index: this.inspect.indexed ? await this.inspect.indexed(record.userId) : undefined,
      held: await this.held(),
    };
  }
}

/** Only the contract's fields, so a store may carry more without failing. */
export function fields(record: SessionRecord | null | undefined): Partial<SessionRecord> | null {
  if (record === null || record === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const name of RECORD_FIELDS) out[name] = record[name];
  return out as Partial<SessionRecord>;
}

export function sortedIds(records: Array<{ id: string }>): string[] {
  return records.map((r) => r.id).sort();
}

function label(userId: string): string {
  return JSON.stringify(userId.slice(0, 40));
}
