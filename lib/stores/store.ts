/**
 * The store contract: one promise-returning operation per atomic step.
 *
 * A store keeps session records and, per user, an index of that user's
 * session ids. It knows nothing of HTTP, JWTs or options: every operation
 * receives the time (`now`, epoch milliseconds from the guard's clock) and the
 * limits it needs, so a fake clock works against every store alike. Each
 * operation must be atomic with respect to every other (Redis: one Lua
 * script; memory: synchronous code), so no interleaving of two requests can
 * resurrect a revoked session or issue two live refresh successors.
 *
 * Deadlines: a record's deadline is the earlier of `lastUsedAt + idleTimeout`
 * and `createdAt + absoluteLifetime` (a `null` part is no deadline; both
 * `null` is a forever session). A record whose deadline is `<= now` is dead:
 * every operation that meets it treats it as absent and deletes it.
 *
 * Records a store returns are the caller's to read, never to change: a
 * store may hand out the same object again (`MemoryStore` does, to save a
 * copy per request).
 *
 * @module
 */

/**
 * A session as the store keeps it. Times are epoch milliseconds; text fields are `""` when absent.
 *
 * @example
 * ```ts
 * const alive = (r: SessionRecord, now: number) => { const d = deadlineOf(r); return d === null || now < d; };
 * ```
 */
export interface SessionRecord {
  /** Session id (`sid`), base64url, at least 128 random bits. */
  id: string;
  /** The user id, any string (the store encodes it for its keys). */
  userId: string;
  createdAt: number;
  lastUsedAt: number;
  /** Milliseconds of inactivity after which the session is dead; `null`: never. */
  idleTimeout: number | null;
  /** Milliseconds after `createdAt` at which the session is dead; `null`: never. */
  absoluteLifetime: number | null;
  rememberMe: boolean;
  /** Custom JWT claims given at login, as JSON text (`""` when none). */
  claims: string;
  /** App data given at login, as JSON text (`""` when none). */
  data: string;
  /** Client IP at login or last refresh (`""` when unknown). */
  ip: string;
  /** Client user agent at login or last refresh (`""` when unknown). */
  userAgent: string;
}

/*
 * Refresh tokens (see `tokens/refresh.ts`) reach a store only as SHA-256
 * digests, never as tokens: it keeps the digests of the current and the
 * previous token and the current generation, so a copy of the store does not
 * let anyone refresh.
 */

/**
 * What {@link Store.create} is given.
 *
 * @example
 * ```ts
 * async create({ record, refreshHash, maxSessions, now }: CreateInput): Promise<string[]> { … }
 * ```
 */
export interface CreateInput {
  record: SessionRecord;
  /** Digest of the generation-0 refresh token. */
  refreshHash: string;
  /** Evict least recently used sessions so that at most this many remain (the new one included); `null`: no cap. */
  maxSessions: number | null;
  now: number;
}

/**
 * What {@link Store.rotate} is given: the presented refresh token, already digested (its MAC was verified).
 *
 * @example
 * ```ts
 * async rotate({ userId, sessionId, generation, presentedHash, successorHash, now, reuseWindow }: RotateInput) { … }
 * ```
 */
export interface RotateInput {
  userId: string;
  sessionId: string;
  /** Generation written in the presented token. */
  generation: number;
  /** Digest of the presented token. */
  presentedHash: string;
  /** Digest of the presented token's successor (derived from it). */
  successorHash: string;
  now: number;
  /** `refreshReuseWindow` in milliseconds. */
  reuseWindow: number;
  ip: string;
  userAgent: string;
}

/**
 * Outcome of {@link Store.rotate}:
 * - `rotated`: the presented token was current; the successor is now current
 *   (generation + 1), `lastUsedAt` moved to `now`, `ip`/`userAgent` updated.
 * - `repeated`: the presented token is the one spent last (generation =
 *   current − 1, digest = the previous digest) and was spent at most
 *   `reuseWindow` ago: the caller hands out the same successor again. No
 *   state changes.
 * - `reused`: the presented token was spent: it is the one spent last but
 *   outside the window, or it is two or more generations old (even inside
 *   the window). The store has revoked (deleted) the session. The caller
 *   verified the token's MAC before asking, so an older generation was
 *   issued for this session: the store decides reuse in the same atomic
 *   step as it reads the current generation, whatever rotations run
 *   concurrently.
 * - `invalid`: no live session, wrong digest, or a future generation.
 *   Nothing changes.
 *
 * @example
 * ```ts
 * const result = await store.rotate(input);
 * if (result.status === "reused") alertSecurityTeam(input.userId);
 * ```
 */
export type RotateResult = { status: "rotated" | "repeated" | "reused"; record: SessionRecord } | { status: "invalid" };

/**
 * Outcome of `revokeByRefresh`: `ended` (the current token, or the one
 * spent last inside the window: the session is deleted), `reused` (a spent
 * token, judged as `rotate` judges it: the session is deleted too), or
 * `invalid` (nothing matched; nothing changes).
 *
 * @example
 * ```ts
 * const outcome: RefreshLogoutResult = await store.revokeByRefresh(userId, sid, generation, digest, now, 10_000);
 * ```
 */
export type RefreshLogoutResult = "ended" | "reused" | "invalid";

/**
 * The store contract. Every method is atomic and returns a promise; `session-guard` ships `RedisStore` and `MemoryStore`, and another store passes if it keeps every rule below.
 *
 * @example
 * ```ts
 * class MyStore implements Store { create, check, rotate, revokeByRefresh, get, list, revoke, revokeAll, close }
 * const guard = sessionGuard({ store: new MyStore(), secret });
 * ```
 */
export interface Store {
  /**
   * Stores a new session and its refresh state, adds it to the user's index,
   * first pruning the index of dead entries, then evicting the least
   * recently used live sessions (lowest `lastUsedAt`) beyond `maxSessions`
   * (never the new one). Sets expiries: the record at its deadline, the
   * index at the furthest deadline among its sessions (none when a forever
   * session is among them). Resolves to the ids evicted.
   */
  create(input: CreateInput): Promise<string[]>;

  /**
   * The guard's check, one round trip: resolves to the live record or `null`
   * (absent, dead — then deleted — or of another user). When
   * `now - lastUsedAt >= touchInterval` it also moves `lastUsedAt` to `now`
   * and extends the record's expiry to its new deadline (and the index's, if
   * that is later); otherwise it writes nothing. The record returned carries
   * the new `lastUsedAt`.
   *
   * The guard needs only the record's times, deadlines, `rememberMe` and
   * `data` (the claims come from the verified JWT), so a store may return
   * `claims`, `ip` and `userAgent` as `""` here to keep the hot path light
   * (RedisStore does; MemoryStore returns them as kept). `get`, `list` and
   * `rotate` always return them.
   */
  check(userId: string, sessionId: string, now: number, touchInterval: number): Promise<SessionRecord | null>;

  /** Rotates a refresh token; see {@link RotateResult}. */
  rotate(input: RotateInput): Promise<RotateResult>;

  /**
   * Logout with a refresh token (when the access token has expired): ends
   * the session if the presented token is its current one (`generation`,
   * digest) or the one spent last (generation − 1, previous digest) at most
   * `reuseWindow` ms after it was spent. A spent token is reuse, decided as
   * by `rotate` (the session is deleted as well). See {@link RefreshLogoutResult}.
   */
  revokeByRefresh(
    userId: string,
    sessionId: string,
    generation: number,
    presentedHash: string,
    now: number,
    reuseWindow: number,
  ): Promise<RefreshLogoutResult>;

  /** The live record, or `null`. Deletes it when dead. Writes nothing else. */
  get(userId: string, sessionId: string, now: number): Promise<SessionRecord | null>;

  /**
   * Every live session of the user (any order), pruning dead entries from
   * the index and resetting the index's expiry to the furthest deadline.
   */
  list(userId: string, now: number): Promise<SessionRecord[]>;

  /** Deletes one session. Resolves to `true` when a live session was deleted. */
  revoke(userId: string, sessionId: string, now: number): Promise<boolean>;

  /**
   * Deletes every session of the user except `exceptId` (if given) and
   * resolves to the ids of the live sessions deleted.
   */
  revokeAll(userId: string, exceptId: string | undefined, now: number): Promise<string[]>;

  /** Stops timers and closes clients the store itself created (never a client it was given). */
  close(): Promise<void>;

  /**
   * Optional: follow every revocation made through this store's backend,
   * by any process, so a local cache can drop what ended (the guard's
   * `cache` option needs it; `RedisStore` has it, over Redis pub/sub).
   */
  subscribeInvalidations?(listener: InvalidationListener): InvalidationFeed;
}

/**
 * What a store tells a process's local session cache (the guard's `cache`
 * option) about revocations made anywhere: by any process, the CLI, or
 * this one. Every call may come at any time, from the store's own event
 * handlers; none may throw.
 *
 * @example
 * ```ts
 * const feed = store.subscribeInvalidations!({
 *   connected: () => console.log("revocations are followed"),
 *   disconnected: () => console.log("revocations may be missed: stop trusting the cache"),
 *   session: (sessionId) => cache.delete(sessionId),
 *   user: (userId) => dropSessionsOf(userId),
 *   everything: () => cache.clear(),
 * });
 * ```
 */
export interface InvalidationListener {
  /** The subscription is confirmed: from now on, every revocation is told. */
  connected(): void;
  /** The subscription is lost: revocations may go untold until `connected` again. */
  disconnected(): void;
  /** One session ended (revoked, logged out, evicted, or ended for refresh token reuse). */
  session(sessionId: string): void;
  /** Every session of a user ended, except perhaps one kept (which may then be asked for again). */
  user(userId: string): void;
  /** A message the store could not read: forget everything. */
  everything(): void;
}

/**
 * An open subscription to a store's revocations.
 *
 * @example
 * ```ts
 * const feed = store.subscribeInvalidations!(listener);
 * await feed.close(); // no call to the listener after this
 * ```
 */
export interface InvalidationFeed {
  /** Unsubscribes and closes the connection the feed opened. Idempotent. */
  close(): Promise<void>;
}

/** The earliest instant the record is dead, or `null` for a forever session. */
export function deadlineOf(record: Pick<SessionRecord, "createdAt" | "lastUsedAt" | "idleTimeout" | "absoluteLifetime">): number | null {
  const idle = record.idleTimeout === null ? null : record.lastUsedAt + record.idleTimeout;
  const absolute = record.absoluteLifetime === null ? null : record.createdAt + record.absoluteLifetime;
  if (idle === null) return absolute;
  if (absolute === null) return idle;
  return idle < absolute ? idle : absolute;
}
