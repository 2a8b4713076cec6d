/**
 * The session manager: the domain rules (deadlines, rotation, reuse
 * detection, eviction events), with no HTTP and no Redis. Data flows one way:
 * HTTP → manager → store. Every store call passes through `callStore`, the
 * one place that applies `storeTimeout` and turns failures into
 * `store_unavailable`.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { SessionError } from "./errors.js";
import type { ResolvedConfig, SessionEvents } from "./options.js";
import { deadlineOf, type SessionRecord } from "./stores/store.js";
import { signAccessToken, verifyAccessToken, type AccessClaims, type AccessTokenConfig } from "./tokens/access.js";
import { VerifiedTokenCache } from "./tokens/verified-cache.js";
import { digest, isGenuine, issueRefreshToken, newRefreshSeed, parseRefreshToken, type RefreshToken } from "./tokens/refresh.js";
import { warnOnce } from "./warnings.js";

/** Longest user id accepted, in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 2048;
/** How often a refresh retries when a concurrent rotation moved the generation under it. */
const STALE_RETRIES = 2;
const SESSION_ID = /^[A-Za-z0-9_-]{24}$/;
const MAX_CLAIMS_JSON = 2048;
const MAX_DATA_JSON = 16_384;

/** A session as the API shows it (camelCase, `Date`s). */
export interface SessionInfo {
  id: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date;
  /** The nearest deadline, or `null` for a forever session. */
  expiresAt: Date | null;
  rememberMe: boolean;
  ip: string | null;
  userAgent: string | null;
  /** True for the session making the request. */
  current: boolean;
}

/** A session as the routes send it (snake_case, ISO-8601 times). */
export interface SessionInfoJson {
  id: string;
  current: boolean;
  created_at: string;
  last_used_at: string;
  expires_at: string | null;
  remember_me: boolean;
  ip: string | null;
  user_agent: string | null;
}

/** The token set (OAuth 2.0 response style) that login and refresh return. */
export interface TokenSet {
  access_token: string;
  token_type: "Bearer";
  /** Seconds until the access token expires. */
  expires_in: number;
  refresh_token: string;
  session: SessionInfoJson;
}

/** Options of {@link SessionManager.create}. */
export interface CreateSessionOptions {
  rememberMe?: boolean;
  /** Custom JWT claims (a plain object; reserved claims such as `sub` are ignored). */
  claims?: Record<string, unknown>;
  /** App data kept with the session, available as `req.session.data`. */
  data?: unknown;
  ip?: string;
  userAgent?: string;
}

/** Client details recorded on refresh. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

/** The session behind a request: `req.session`. */
export class SessionHandle {
  /** The session id (`sid`). */
  readonly id: string;
  /** The user (`sub`). */
  readonly userId: string;
  /** The verified JWT payload, custom claims included. Deeply frozen: the guard reuses it for the token's next requests. */
  readonly claims: Readonly<AccessClaims>;
  readonly rememberMe: boolean;
  readonly #manager: SessionManager;
  // The record is kept as it came from the store: `Date`s and `data` are
  // built only when read, so the guard allocates nothing a route does not use.
  readonly #record: SessionRecord;

  /** @internal */
  constructor(manager: SessionManager, claims: AccessClaims, record: SessionRecord) {
    this.#manager = manager;
    this.#record = record;
    this.id = claims.sid;
    this.userId = claims.sub;
    this.claims = claims;
    this.rememberMe = record.rememberMe;
  }

  /** When the session was created. */
  get createdAt(): Date {
    return new Date(this.#record.createdAt);
  }

  /** When the session was last used (written at most once per `touchInterval`). */
  get lastUsedAt(): Date {
    return new Date(this.#record.lastUsedAt);
  }

  /** The nearest deadline, or `null` for a forever session. */
  get expiresAt(): Date | null {
    const deadline = deadlineOf(this.#record);
    return deadline === null ? null : new Date(deadline);
  }

  /** The app data stored at login. */
  get data(): unknown {
    return this.#record.data === "" ? undefined : JSON.parse(this.#record.data);
  }

  /** Logs this session out; resolves when the store has removed it. */
  async revoke(): Promise<void> {
    await this.#manager.logout(this.id, this.userId);
  }

  /** Global logout: every session of this user, this one included. Resolves to the count. */
  revokeAll(): Promise<number> {
    return this.#manager.revokeAll(this.userId);
  }

  /** Every session of this user but this one. Resolves to the count. */
  revokeOthers(): Promise<number> {
    return this.#manager.revokeAll(this.userId, { except: this.id });
  }

  /** This user's live sessions, newest first, this one marked `current`. */
  list(): Promise<SessionInfo[]> {
    return this.#manager.list(this.userId, this.id);
  }
}

/**
 * The programmatic API (`guard.sessions`), for flows the router does not
 * cover: OAuth callbacks, passwordless login, admin tools, background jobs.
 *
 * @example
 * ```ts
 * const tokens = await guard.sessions.create(user.id, { rememberMe: true, ip: req.ip });
 * await guard.sessions.revokeAll(user.id); // after a password reset
 * ```
 */
export class SessionManager {
  readonly #config: ResolvedConfig;
  readonly #events: EventEmitter;
  readonly #access: AccessTokenConfig;
  readonly #verified: VerifiedTokenCache;

  /** @internal */
  constructor(config: ResolvedConfig, events: EventEmitter) {
    this.#config = config;
    this.#events = events;
    this.#access = {
      keys: config.keys,
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: config.clockTolerance,
      ttl: config.accessTokenTtl,
    };
    this.#verified = new VerifiedTokenCache(config.clockTolerance);
  }

  /** Starts a session for `userId` and returns its first token set. */
  async create(userId: string, options: CreateSessionOptions = {}): Promise<TokenSet> {
    checkUserId(userId);
    const rememberMe = options.rememberMe === true && this.#config.allowRememberMe;
    const claims = options.claims ?? {};
    if (typeof claims !== "object" || claims === null || Array.isArray(claims))
      throw new SessionPayloadError("session-guard: `claims` must be a plain object");
    const claimsText = jsonText("claims", claims, MAX_CLAIMS_JSON);
    const dataText = options.data === undefined ? "" : jsonText("data", options.data, MAX_DATA_JSON);
    const now = this.#config.now();
    const deadlines = rememberMe ? this.#config.remembered : this.#config.standard;
    const record: SessionRecord = {
      id: randomBytes(18).toString("base64url"),
      userId,
      createdAt: now,
      lastUsedAt: now,
      idleTimeout: deadlines.idleTimeout,
      absoluteLifetime: deadlines.absoluteLifetime,
      rememberMe,
      claims: claimsText === "{}" ? "" : claimsText,
      data: dataText,
      ip: clip(options.ip, 64),
      userAgent: clip(options.userAgent, 512),
    };
    const seed = newRefreshSeed();
    const firstToken = issueRefreshToken(this.#config.refreshKey, userId, record.id, 0, seed);
    const evicted = await this.#callStore("create", () =>
      this.#config.store.create({
        record,
        refreshHash: digest(firstToken),
        maxSessions: this.#config.maxSessionsPerUser,
        now,
      }),
    );
    this.emit("login", { sessionId: record.id, userId, rememberMe });
    for (const sessionId of evicted) this.emit("revoke", { sessionId, userId, reason: "evicted" });
    return this.#tokenSet(record, firstToken, now);
  }

  /** Rotates a refresh token: a new access token and a new refresh token. */
  async refresh(refreshToken: string, client: ClientInfo = {}): Promise<TokenSet> {
    const presented = this.#genuineRefreshToken(refreshToken);
    const { userId, sessionId, generation, seed } = presented;
    const key = this.#config.refreshKey;
    const successor = issueRefreshToken(key, userId, sessionId, generation + 1, seed);
    const input = {
      userId,
      sessionId,
      generation,
      presentedHash: digest(refreshToken),
      successorHash: digest(successor),
      now: this.#config.now(),
      reuseWindow: this.#config.refreshReuseWindow,
      ip: clip(client.ip, 64),
      userAgent: clip(client.userAgent, 512),
    };
    const about = { sub: userId, sid: sessionId };
    for (let attempt = 0; ; attempt++) {
      const result = await this.#callStore("rotate", () => this.#config.store.rotate(input), about);
      switch (result.status) {
        case "rotated":
        case "repeated":
          if (result.status === "rotated") this.emit("refresh", { sessionId, userId });
          return this.#tokenSet(result.record, successor, input.now);
        case "reused":
          this.emit("reuse_detected", { sessionId, userId });
          throw new SessionError("refresh_token_reused");
        case "stale": {
          // A genuine token (its MAC verified) older than the last rotation:
          // revoke the session, unless a rotation moved it on meanwhile.
          const current = issueRefreshToken(key, userId, sessionId, result.currentGeneration, seed);
          const revoked = await this.#callStore(
            "revokeIfCurrent",
            () => this.#config.store.revokeIfCurrent(userId, sessionId, result.currentGeneration, digest(current), input.now),
            about,
          );
          if (revoked) {
            this.emit("reuse_detected", { sessionId, userId });
            throw new SessionError("refresh_token_reused");
          }
          if (attempt >= STALE_RETRIES) throw new SessionError("refresh_token_invalid");
          break;
        }
        default:
          throw new SessionError("refresh_token_invalid");
      }
    }
  }

  /** Verifies an access token and checks its session (touching it when due). */
  async verify(accessToken: string): Promise<SessionHandle> {
    if (typeof accessToken !== "string") throw new SessionError("token_invalid");
    return this.check(this.verifyToken(accessToken));
  }

  /**
   * @internal Verifies the JWT only: no store call. A token verified before
   * and still inside its lifetime is answered from memory (its claims, never
   * its session's state).
   */
  verifyToken(accessToken: string): AccessClaims {
    const now = this.#config.now();
    const known = this.#verified.get(accessToken, now);
    if (known !== undefined) return known;
    return this.#verified.add(accessToken, verifyAccessToken(this.#access, accessToken, now));
  }

  /** @internal The guard's one store round trip, for claims already verified. */
  check(claims: AccessClaims): Promise<SessionHandle> {
    if (!SESSION_ID.test(claims.sid)) return Promise.reject(new SessionError("session_inactive"));
    const config = this.#config;
    const now = config.now();
    return this.#callStore("check", () => config.store.check(claims.sub, claims.sid, now, config.touchInterval), claims).then((record) => {
      if (record === null) throw new SessionError("session_inactive");
      return new SessionHandle(this, claims, record);
    });
  }

  /** @internal A handle for a verified JWT when the store is down and `onStoreError: "allow"`. */
  unchecked(claims: AccessClaims): SessionHandle {
    const issued = claims.iat * 1000;
    const record: SessionRecord = {
      id: claims.sid,
      userId: claims.sub,
      createdAt: issued,
      lastUsedAt: issued,
      idleTimeout: null,
      absoluteLifetime: claims.exp * 1000 - issued,
      rememberMe: false,
      claims: "",
      data: "",
      ip: "",
      userAgent: "",
    };
    return new SessionHandle(this, claims, record);
  }

  /** One live session of the user, or `null`. */
  async get(sessionId: string, userId: string): Promise<SessionInfo | null> {
    checkUserId(userId);
    if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) return null;
    const now = this.#config.now();
    const record = await this.#callStore("get", () => this.#config.store.get(userId, sessionId, now), { sub: userId, sid: sessionId });
    return record && toInfo(record, undefined);
  }

  /** The user's live sessions, newest first; `currentId` marks the caller's. */
  async list(userId: string, currentId?: string): Promise<SessionInfo[]> {
    checkUserId(userId);
    const now = this.#config.now();
    const records = await this.#callStore("list", () => this.#config.store.list(userId, now), { sub: userId });
    records.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
    return records.map((record) => toInfo(record, currentId));
  }

  /** Revokes one session; `false` when there was no such live session. */
  async revoke(sessionId: string, userId: string): Promise<boolean> {
    checkUserId(userId);
    if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) return false;
    const now = this.#config.now();
    const revoked = await this.#callStore("revoke", () => this.#config.store.revoke(userId, sessionId, now), {
      sub: userId,
      sid: sessionId,
    });
    if (revoked) this.emit("revoke", { sessionId, userId, reason: "revoked" });
    return revoked;
  }

  /** Revokes every session of the user, or all but `except`. Resolves to the count. */
  async revokeAll(userId: string, options: { except?: string } = {}): Promise<number> {
    checkUserId(userId);
    const except = options.except;
    if (except !== undefined && typeof except !== "string") throw new TypeError("session-guard: `except` must be a session id");
    const now = this.#config.now();
    const ids = await this.#callStore("revokeAll", () => this.#config.store.revokeAll(userId, except, now), { sub: userId });
    const reason = except === undefined ? "logout-all" : "logout-others";
    for (const sessionId of ids) this.emit("revoke", { sessionId, userId, reason });
    return ids.length;
  }

  /** @internal Ends a session at its user's request (`logout` event). */
  async logout(sessionId: string, userId: string): Promise<boolean> {
    const now = this.#config.now();
    const ended = await this.#callStore("revoke", () => this.#config.store.revoke(userId, sessionId, now), { sub: userId, sid: sessionId });
    if (ended) this.emit("logout", { sessionId, userId });
    return ended;
  }

  /**
   * @internal Ends the session of a current (or just-spent) refresh token.
   * Any other genuine token is judged as a refresh would judge it: a spent
   * one revokes the session as reuse (`refresh_token_reused`).
   */
  async logoutWithRefresh(refreshToken: string): Promise<boolean> {
    const { userId, sessionId, generation } = this.#genuineRefreshToken(refreshToken);
    const presented = digest(refreshToken);
    const config = this.#config;
    const now = config.now();
    const ended = await this.#callStore(
      "revokeByRefresh",
      () => config.store.revokeByRefresh(userId, sessionId, generation, presented, now, config.refreshReuseWindow),
      { sub: userId, sid: sessionId },
    );
    if (!ended) {
      // Not current, nor spent inside the window: reuse (revoked, reuse_detected) or invalid.
      await this.refresh(refreshToken);
      // Only a race can get here (the token turned current meanwhile): end the session still.
      if (!(await this.logout(sessionId, userId))) throw new SessionError("refresh_token_invalid");
      return true;
    }
    this.emit("logout", { sessionId, userId });
    return true;
  }

  /** @internal Emits an event; a throwing listener becomes a warning, never a failed request. */
  emit<E extends keyof SessionEvents>(event: E, payload: SessionEvents[E]): void {
    if (this.#events.listenerCount(event) === 0) return;
    try {
      this.#events.emit(event, payload);
    } catch (err) {
      warnOnce(
        "SESSION_GUARD_LISTENER_ERROR",
        `session-guard: a "${event}" listener threw (${(err as Error)?.message ?? err}); listeners must not throw`,
      );
    }
  }

  /** The parsed token when it is of our form and its MAC verifies; no store call otherwise. */
  #genuineRefreshToken(refreshToken: unknown): RefreshToken {
    const parsed = typeof refreshToken === "string" ? parseRefreshToken(refreshToken) : null;
    if (!parsed || !SESSION_ID.test(parsed.sessionId) || !isGenuine(this.#config.refreshKey, parsed)) {
      throw new SessionError("refresh_token_invalid");
    }
    return parsed;
  }

  #tokenSet(record: SessionRecord, refreshToken: string, now: number): TokenSet {
    const claims = record.claims === "" ? {} : (JSON.parse(record.claims) as Record<string, unknown>);
    const notAfter = record.absoluteLifetime === null ? null : record.createdAt + record.absoluteLifetime;
    const access = signAccessToken(this.#access, { userId: record.userId, sessionId: record.id, claims, now, notAfter });
    return {
      access_token: access.token,
      token_type: "Bearer",
      expires_in: Math.max(0, Math.round((access.expiresAt - now) / 1000)),
      refresh_token: refreshToken,
      session: toJson(toInfo(record, record.id)),
    };
  }

  /**
   * The one wrapper of every store call: bounds it by `storeTimeout`, and
   * turns any failure into `store_unavailable` with a `store_error` event.
   * Callers read the clock before, so a broken clock is not taken for a
   * broken store.
   */
  #callStore<T>(operation: string, call: () => Promise<T>, about?: { sub?: string; sid?: string }): Promise<T> {
    const failure = (err: unknown): SessionError => {
      if (err instanceof SessionError) return err;
      this.emit("store_error", { error: err as Error, operation, sessionId: about?.sid, userId: about?.sub });
      return new SessionError("store_unavailable", undefined, { cause: err });
    };
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (err) {
      return Promise.reject(failure(err));
    }
    const timeout = this.#config.storeTimeout;
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(failure(new Error(`store ${operation} timed out after ${timeout} ms`)));
      }, timeout);
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          // A call that already timed out was reported then; its late failure is not news.
          if (!timedOut) reject(failure(err));
        },
      );
    });
  }
}

/** camelCase info from a record. */
export function toInfo(record: SessionRecord, currentId: string | undefined): SessionInfo {
  const deadline = deadlineOf(record);
  return {
    id: record.id,
    userId: record.userId,
    createdAt: new Date(record.createdAt),
    lastUsedAt: new Date(record.lastUsedAt),
    expiresAt: deadline === null ? null : new Date(deadline),
    rememberMe: record.rememberMe,
    ip: record.ip === "" ? null : record.ip,
    userAgent: record.userAgent === "" ? null : record.userAgent,
    current: record.id === currentId,
  };
}

/** The snake_case JSON form of a `SessionInfo`. */
export function toJson(info: SessionInfo): SessionInfoJson {
  return {
    id: info.id,
    current: info.current,
    created_at: info.createdAt.toISOString(),
    last_used_at: info.lastUsedAt.toISOString(),
    expires_at: info.expiresAt === null ? null : info.expiresAt.toISOString(),
    remember_me: info.rememberMe,
    ip: info.ip,
    user_agent: info.userAgent,
  };
}

/** A lone UTF-16 surrogate: UTF-8 encodes it as U+FFFD, so two such ids could share keys. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for a user id the stores can key: non-empty, well-formed unicode, at most 2 KB of UTF-8. */
export function isUsableUserId(userId: unknown): userId is string {
  return (
    typeof userId === "string" && userId !== "" && Buffer.byteLength(userId, "utf8") <= MAX_USER_ID_BYTES && !LONE_SURROGATE.test(userId)
  );
}

function checkUserId(userId: unknown): asserts userId is string {
  if (!isUsableUserId(userId)) {
    throw new TypeError(`session-guard: a user id must be a non-empty, well-formed unicode string of at most ${MAX_USER_ID_BYTES} bytes`);
  }
}

/**
 * Claims or data a session cannot keep (not JSON, or too large). A
 * `TypeError` for the programmatic API; the router answers it with a 400,
 * since such values may come from user input.
 */
export class SessionPayloadError extends TypeError {}

function jsonText(name: string, value: unknown, max: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new SessionPayloadError(`session-guard: \`${name}\` must be JSON-serialisable`);
  if (text.length > max)
    throw new SessionPayloadError(
      `session-guard: \`${name}\` is ${text.length} characters of JSON; at most ${max} are kept with a session`,
    );
  return text;
}

function clip(value: unknown, max: number): string {
  return typeof value === "string" ? value.slice(0, max) : "";
}
