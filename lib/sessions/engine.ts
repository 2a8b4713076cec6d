/**
 * The session engine: the domain rules (deadlines, rotation, reuse
 * detection, eviction events), with no HTTP and no Redis. The guard, the
 * router and the public `SessionManager` all go through it; data flows one
 * way: HTTP → engine → store.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import type { EventEmitter } from "node:events";
import { SessionError } from "../errors.js";
import type { Guard } from "../http/guard.js";
import type { ResolvedConfig, SessionEvents } from "../options.js";
import type { InvalidationFeed, SessionRecord } from "../stores/store.js";
import { verifyAccessToken, type AccessClaims, type AccessTokenConfig } from "../tokens/access.js";
import { digest, issueRefreshToken, newRefreshSeed } from "../tokens/refresh.js";
import { VerifiedTokenCache } from "../tokens/verified-cache.js";
import { warnOnce } from "../warnings.js";
import { SessionCache } from "./cache.js";
import { SessionHandle, type HandleActions } from "./handle.js";
import { toInfo, type SessionInfo } from "./info.js";
import { issueTokens, type IssuedTokens } from "./issue.js";
import {
  checkClaimNames,
  checkUserId,
  clip,
  MAX_CLAIMS_BYTES,
  MAX_DATA_BYTES,
  MAX_IP_LENGTH,
  MAX_USER_AGENT_LENGTH,
  maxAccessTokenBytes,
  payloadJson,
  SESSION_ID,
} from "./limits.js";
import { logoutWithRefreshToken, rotateRefreshToken, type ClientInfo, type RefreshFlowContext } from "./refresh-flow.js";
import { storeCaller, type StoreCaller } from "./store-call.js";

/**
 * Options of a new session (`guard.sessions.create`).
 *
 * @example
 * ```ts
 * await guard.sessions.create(user.id, { rememberMe: true, claims: { role: "admin" }, ip: req.ip, userAgent: req.get("user-agent") });
 * ```
 */
export interface CreateSessionOptions {
  /** Ask for a remember-me session (its longer deadlines); ignored when `allowRememberMe` is false. */
  rememberMe?: boolean;
  /** Custom JWT claims (a plain object of at most 2 KB of JSON; reserved claims such as `sub` are ignored). */
  claims?: Record<string, unknown>;
  /** App data kept with the session (at most 16 KB of JSON), available as `req.session.data`. */
  data?: unknown;
  /** The client's IP address, shown in session lists. */
  ip?: string;
  /** The client's user agent, shown in session lists. */
  userAgent?: string;
}

/** The engine behind the guard, the router and `guard.sessions`. */
export class SessionEngine implements HandleActions {
  readonly #config: ResolvedConfig;
  readonly #events: EventEmitter;
  readonly #access: AccessTokenConfig;
  readonly #verified: VerifiedTokenCache;
  readonly #callStore: StoreCaller;
  readonly #refresh: RefreshFlowContext;
  readonly #maxAccessToken: number;
  /** The local session cache and its subscription to the store's revocations, with the `cache` option. */
  readonly cache: SessionCache | undefined;
  readonly #feed: InvalidationFeed | undefined;
  /** The guard built around this engine, named in the tracing context of every store call. */
  guard: Guard | undefined;

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
    this.#callStore = storeCaller(
      config.storeTimeout,
      (error, operation, about) => this.emit("store_error", { error, operation, sessionId: about?.sid, userId: about?.sub }),
      this,
    );
    this.#refresh = {
      config,
      access: this.#access,
      callStore: this.#callStore,
      emit: (event, payload) => this.emit(event, payload),
      ended: (sessionId) => this.cache?.session(sessionId),
    };
    this.#maxAccessToken = maxAccessTokenBytes(config.transport, config.cookie.accessName);
    if (config.cache !== undefined) {
      this.cache = new SessionCache(config.cache.ttl, config.cache.max);
      this.#feed = config.store.subscribeInvalidations!(this.cache);
    }
  }

  /** Closes the cache's subscription (the store is closed by the guard). */
  async close(): Promise<void> {
    await this.#feed?.close();
  }

  /**
   * Starts a session. Its first access token is signed before anything is
   * stored, so a login whose token the guard (or a browser's cookie jar)
   * would refuse is refused here, with nothing written.
   */
  async create(userId: string, options: CreateSessionOptions = {}): Promise<IssuedTokens> {
    checkUserId(userId);
    const rememberMe = options.rememberMe === true && this.#config.allowRememberMe;
    const claims = options.claims ?? {};
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
      throw new SessionError("invalid_request", "The session's claims must be a plain object.");
    }
    checkClaimNames(claims);
    const claimsText = payloadJson("claims", claims, MAX_CLAIMS_BYTES);
    const dataText = options.data === undefined ? "" : payloadJson("data", options.data, MAX_DATA_BYTES);
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
      ip: clip(options.ip, MAX_IP_LENGTH),
      userAgent: clip(options.userAgent, MAX_USER_AGENT_LENGTH),
    };
    const firstToken = issueRefreshToken(this.#config.refreshKey, userId, record.id, 0, newRefreshSeed());
    const issued = issueTokens(this.#access, record, firstToken, now);
    if (issued.accessToken.length > this.#maxAccessToken) {
      throw new SessionError(
        "invalid_request",
        `The user id and claims make an access token of ${issued.accessToken.length} bytes; at most ${this.#maxAccessToken} can be sent back.`,
      );
    }
    const store = this.#config.store;
    const evicted = await this.#callStore(
      "create",
      () => store.create({ record, refreshHash: digest(firstToken), maxSessions: this.#config.maxSessionsPerUser, now }),
      { sub: userId, sid: record.id },
    );
    this.emit("login", { sessionId: record.id, userId, rememberMe });
    for (const sessionId of evicted) {
      this.cache?.session(sessionId);
      this.emit("revoke", { sessionId, userId, reason: "evicted" });
    }
    return issued;
  }

  /** Rotates a refresh token (see `refresh-flow.ts`). */
  refresh(refreshToken: unknown, client: ClientInfo = {}): Promise<IssuedTokens> {
    return rotateRefreshToken(this.#refresh, refreshToken, client);
  }

  /** Ends the session of a current (or just-spent) refresh token; a spent one is reuse. */
  logoutWithRefresh(refreshToken: unknown): Promise<void> {
    return logoutWithRefreshToken(this.#refresh, refreshToken);
  }

  /**
   * Verifies the JWT only: no store call. A token verified before and still
   * inside its lifetime is answered from memory (its claims, never its
   * session's state).
   */
  verifyToken(accessToken: string): AccessClaims {
    const now = this.#config.now();
    const known = this.#verified.get(accessToken, now);
    if (known !== undefined) return known;
    return this.#verified.add(accessToken, verifyAccessToken(this.#access, accessToken, now));
  }

  /**
   * With the `cache` option: a handle answered from memory, when the cache
   * may answer (see `cache.ts`), else `undefined`. No store call, no promise.
   */
  cached(claims: AccessClaims): SessionHandle | undefined {
    const record = this.cache?.lookup(claims.sid, claims.sub, this.#config.now(), this.#config.touchInterval);
    return record === undefined ? undefined : new SessionHandle(this, claims, record);
  }

  /** The guard's one store round trip, for claims already verified. */
  check(claims: AccessClaims): Promise<SessionHandle> {
    if (!SESSION_ID.test(claims.sid)) return Promise.reject(new SessionError("session_inactive"));
    const config = this.#config;
    const now = config.now();
    const cache = this.cache;
    const ticket = cache === undefined ? 0 : cache.ticket();
    return this.#callStore("check", () => config.store.check(claims.sub, claims.sid, now, config.touchInterval), claims).then((record) => {
      if (record === null) {
        cache?.forget(claims.sid);
        throw new SessionError("session_inactive");
      }
      cache?.fill(record, ticket, now);
      return new SessionHandle(this, claims, record);
    });
  }

  /** A handle for a verified JWT when the store is down and `onStoreError: "allow"`. */
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

  /** Revokes one session by id (`revoke` event, reason `revoked`); `false` when there was no such live session. */
  async revoke(sessionId: string, userId: string): Promise<boolean> {
    checkUserId(userId);
    if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) return false;
    const ended = await this.#remove(sessionId, userId);
    if (ended) this.emit("revoke", { sessionId, userId, reason: "revoked" });
    return ended;
  }

  /** Ends a session at its user's request (`logout` event). */
  async logout(sessionId: string, userId: string): Promise<boolean> {
    const ended = await this.#remove(sessionId, userId);
    if (ended) this.emit("logout", { sessionId, userId });
    return ended;
  }

  /** Revokes every session of the user, or all but `except`. Resolves to the count. */
  async revokeAll(userId: string, options: { except?: string } = {}): Promise<number> {
    checkUserId(userId);
    const except = options.except;
    if (except !== undefined && typeof except !== "string") throw new TypeError("session-guard: `except` must be a session id");
    const now = this.#config.now();
    const ids = await this.#callStore("revokeAll", () => this.#config.store.revokeAll(userId, except, now), { sub: userId });
    if (ids.length > 0) this.cache?.user(userId);
    const reason = except === undefined ? "logout-all" : "logout-others";
    for (const sessionId of ids) this.emit("revoke", { sessionId, userId, reason });
    return ids.length;
  }

  /** Emits an event; a throwing listener becomes a warning, never a failed request. */
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

  async #remove(sessionId: string, userId: string): Promise<boolean> {
    const now = this.#config.now();
    const ended = await this.#callStore("revoke", () => this.#config.store.revoke(userId, sessionId, now), { sub: userId, sid: sessionId });
    // Dropped here at once; the store's message, which every other process gets, comes a little later.
    this.cache?.session(sessionId);
    return ended;
  }
}
