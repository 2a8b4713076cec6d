/**
 * The local session cache (the guard's `cache` option): a process may
 * answer a guarded request from memory for at most `ttl` after the store
 * last confirmed the session, and drops a session as soon as it learns that
 * it ended, from the store's revocation messages or from its own
 * revocations.
 *
 * Three rules keep it from accepting what the store would refuse:
 * - **Only while followed.** Entries are trusted only while the store's
 *   subscription is confirmed; when it is lost the cache is emptied, and it
 *   fills again only with checks sent after it was confirmed again.
 * - **No late fills.** A check's reply that arrives after an invalidation
 *   of its session (or user) was received may be older than the
 *   invalidation, so it never fills the cache. Every invalidation gets a
 *   number; a check takes the current number before it is sent (its
 *   ticket), and on its reply the invalidations received since are looked
 *   up in a ring of the latest ones. When more arrived than the ring holds,
 *   the fill is skipped.
 * - **Deadlines and touches as before.** A hit is refused when the cached
 *   record's deadline has passed or when its last-use time is due for a
 *   touch (`touchInterval`): the store is asked then, which touches it.
 *
 * Bounded at `max` entries, least recently used evicted. A hit allocates
 * nothing: entries are linked into the recency list (and into their user's
 * list) through their own fields.
 *
 * @module
 */
import { deadlineOf, type InvalidationListener, type SessionRecord } from "../stores/store.js";

/**
 * The counters of a guard's local session cache, read through `guard.cache`.
 *
 * @example
 * ```ts
 * const stats: SessionCacheStats | undefined = guard.cache;
 * if (stats) console.log(`${stats.size}/${stats.max} cached, hit ratio ${stats.hits / Math.max(1, stats.hits + stats.misses)}`);
 * ```
 */
export interface SessionCacheStats {
  /** Sessions held now. */
  readonly size: number;
  /** At most this many are held (`cache.max`). */
  readonly max: number;
  /** Guarded requests answered from memory, since the guard was made. */
  readonly hits: number;
  /** Guarded requests that asked the store while the cache was on (not held, too old, due for a touch, or bypassed). */
  readonly misses: number;
  /** Whether the store's revocation messages are followed now (the cache is bypassed when not). */
  readonly subscribed: boolean;
}

interface Entry {
  readonly sessionId: string;
  readonly userId: string;
  record: SessionRecord;
  /** When the store last confirmed the session (the guard's clock). */
  confirmedAt: number;
  deadline: number | null;
  /** Recency list: towards the most and the least recently used. */
  newer: Entry | undefined;
  older: Entry | undefined;
  /** The other entries of the same user. */
  nextOfUser: Entry | undefined;
  previousOfUser: Entry | undefined;
}

/** Kinds of invalidation kept in the ring. */
const SESSION = 1;
const USER = 2;
const EVERYTHING = 3;
/** Invalidations remembered for checks in flight; a check that overlaps more is not cached. */
const RING_SIZE = 256;

/** A ticket that never fills: taken while the subscription is down. */
const NO_TICKET = -1;

/** The cache. It is the store's invalidation listener. */
export class SessionCache implements InvalidationListener {
  readonly #ttl: number;
  readonly max: number;
  readonly #bySession = new Map<string, Entry>();
  /** The first entry of each user's list. */
  readonly #byUser = new Map<string, Entry>();
  #newest: Entry | undefined;
  #oldest: Entry | undefined;
  #connected = false;
  /** Invalidations received so far (of any kind, subscription changes included). */
  #received = 0;
  readonly #ringKind = new Uint8Array(RING_SIZE);
  readonly #ringSubject: string[] = new Array<string>(RING_SIZE).fill("");
  #hits = 0;
  #misses = 0;
  /** A read-only view of the counters, for `guard.cache`. */
  readonly stats: SessionCacheStats;

  constructor(ttl: number, max: number) {
    this.#ttl = ttl;
    this.max = max;
    this.stats = new StatsView(this);
  }

  get size(): number {
    return this.#bySession.size;
  }

  get hits(): number {
    return this.#hits;
  }

  get misses(): number {
    return this.#misses;
  }

  get subscribed(): boolean {
    return this.#connected;
  }

  /**
   * The cached record when it may answer this request, else `undefined`
   * (then the caller asks the store, with a {@link ticket}).
   */
  lookup(sessionId: string, userId: string, now: number, touchInterval: number): SessionRecord | undefined {
    const entry = this.#bySession.get(sessionId);
    if (entry === undefined || entry.userId !== userId) {
      this.#misses++;
      return undefined;
    }
    const age = now - entry.confirmedAt;
    // A clock that went back (age < 0) is not trusted to measure the ttl.
    if (
      age >= this.#ttl ||
      age < 0 ||
      (entry.deadline !== null && entry.deadline <= now) ||
      now - entry.record.lastUsedAt >= touchInterval
    ) {
      this.#misses++;
      return undefined;
    }
    this.#markUsed(entry);
    this.#hits++;
    return entry.record;
  }

  /** Taken right before a store check; given back to {@link fill} with its reply. */
  ticket(): number {
    return this.#connected ? this.#received : NO_TICKET;
  }

  /** Caches what the store just confirmed, unless an invalidation that may concern it arrived since the ticket. */
  fill(record: SessionRecord, ticket: number, now: number): void {
    if (ticket === NO_TICKET || !this.#connected || this.#overlaps(ticket, record.id, record.userId)) return;
    let entry = this.#bySession.get(record.id);
    if (entry !== undefined && entry.userId !== record.userId) {
      this.#remove(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = {
        sessionId: record.id,
        userId: record.userId,
        record,
        confirmedAt: now,
        deadline: deadlineOf(record),
        newer: undefined,
        older: undefined,
        nextOfUser: undefined,
        previousOfUser: undefined,
      };
      this.#insert(entry);
      if (this.#bySession.size > this.max) this.#remove(this.#oldest!);
      return;
    }
    entry.record = record;
    entry.confirmedAt = now;
    entry.deadline = deadlineOf(record);
    this.#markUsed(entry);
  }

  /** The store found no live session: nothing to keep (not an invalidation: no other check is affected). */
  forget(sessionId: string): void {
    const entry = this.#bySession.get(sessionId);
    if (entry !== undefined) this.#remove(entry);
  }

  connected(): void {
    // Checks sent before now may predate revocations that went untold.
    this.#record(EVERYTHING, "");
    this.#connected = true;
  }

  disconnected(): void {
    this.#connected = false;
    this.#record(EVERYTHING, "");
    this.#clear();
  }

  session(sessionId: string): void {
    this.#record(SESSION, sessionId);
    this.forget(sessionId);
  }

  user(userId: string): void {
    this.#record(USER, userId);
    for (let entry = this.#byUser.get(userId); entry !== undefined;) {
      const next: Entry | undefined = entry.nextOfUser;
      this.#remove(entry);
      entry = next;
    }
  }

  everything(): void {
    this.#record(EVERYTHING, "");
    this.#clear();
  }

  #record(kind: number, subject: string): void {
    const slot = ++this.#received % RING_SIZE;
    this.#ringKind[slot] = kind;
    this.#ringSubject[slot] = subject;
  }

  /** Whether an invalidation received after `ticket` may concern this session. */
  #overlaps(ticket: number, sessionId: string, userId: string): boolean {
    if (ticket === this.#received) return false;
    if (this.#received - ticket > RING_SIZE) return true;
    for (let n = ticket + 1; n <= this.#received; n++) {
      const slot = n % RING_SIZE;
      const kind = this.#ringKind[slot];
      if (kind === EVERYTHING) return true;
      const subject = this.#ringSubject[slot];
      if (kind === SESSION ? subject === sessionId : subject === userId) return true;
    }
    return false;
  }

  #insert(entry: Entry): void {
    this.#bySession.set(entry.sessionId, entry);
    const first = this.#byUser.get(entry.userId);
    entry.nextOfUser = first;
    if (first !== undefined) first.previousOfUser = entry;
    this.#byUser.set(entry.userId, entry);
    this.#linkNewest(entry);
  }

  #remove(entry: Entry): void {
    this.#bySession.delete(entry.sessionId);
    const { previousOfUser, nextOfUser } = entry;
    if (previousOfUser !== undefined) previousOfUser.nextOfUser = nextOfUser;
    else if (nextOfUser !== undefined) this.#byUser.set(entry.userId, nextOfUser);
    else this.#byUser.delete(entry.userId);
    if (nextOfUser !== undefined) nextOfUser.previousOfUser = previousOfUser;
    entry.nextOfUser = entry.previousOfUser = undefined;
    this.#unlink(entry);
  }

  #markUsed(entry: Entry): void {
    if (this.#newest === entry) return;
    this.#unlink(entry);
    this.#linkNewest(entry);
  }

  #linkNewest(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest !== undefined) this.#newest.newer = entry;
    this.#newest = entry;
    if (this.#oldest === undefined) this.#oldest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.newer !== undefined) entry.newer.older = entry.older;
    else this.#newest = entry.older;
    if (entry.older !== undefined) entry.older.newer = entry.newer;
    else this.#oldest = entry.newer;
    entry.newer = entry.older = undefined;
  }

  #clear(): void {
    this.#bySession.clear();
    this.#byUser.clear();
    this.#newest = this.#oldest = undefined;
  }
}

/** The counters without the cache's methods. */
class StatsView implements SessionCacheStats {
  readonly #cache: SessionCache;

  constructor(cache: SessionCache) {
    this.#cache = cache;
    Object.freeze(this);
  }

  get size(): number {
    return this.#cache.size;
  }

  get max(): number {
    return this.#cache.max;
  }

  get hits(): number {
    return this.#cache.hits;
  }

  get misses(): number {
    return this.#cache.misses;
  }

  get subscribed(): boolean {
    return this.#cache.subscribed;
  }
}
