/**
 * `guard.sessions`: the programmatic session API, for flows the router does
 * not cover. Only the public operations; the guard and the router use the
 * engine behind it directly.
 *
 * @module
 */
import { SessionError } from "../errors.js";
import { toTokenSet, type TokenSet } from "../http/json.js";
import type { SessionEngine, CreateSessionOptions } from "./engine.js";
import type { SessionHandle } from "./handle.js";
import type { SessionInfo } from "./info.js";
import type { ClientInfo } from "./refresh-flow.js";

/**
 * The programmatic API (`guard.sessions`): OAuth callbacks, passwordless
 * login, admin tools, background jobs. Every method returns a promise and
 * rejects with a `SessionError` for runtime failures (`store_unavailable`,
 * `refresh_token_invalid`, `invalid_request` for claims or data that cannot
 * be kept, …) and with a `TypeError` for misuse (a user id that is not a
 * non-empty string of at most 2 KB).
 *
 * @example
 * ```ts
 * // After an OAuth callback: the same token set the login route sends.
 * const tokens = await guard.sessions.create(user.id, { rememberMe: true, ip: req.ip, userAgent: req.get("user-agent") });
 * res.json(tokens);
 * // After a password reset in a background job:
 * await guard.sessions.revokeAll(user.id);
 * ```
 */
export class SessionManager {
  readonly #engine: SessionEngine;

  /** @internal Made by `sessionGuard()`. */
  constructor(engine: SessionEngine) {
    this.#engine = engine;
  }

  /** Starts a session for `userId` and returns its first token set (`login` event; `revoke` events for evicted sessions). */
  async create(userId: string, options: CreateSessionOptions = {}): Promise<TokenSet> {
    return toTokenSet(await this.#engine.create(userId, options));
  }

  /** Rotates a refresh token: a new access token and a new refresh token. A spent token revokes its session (`refresh_token_reused`). */
  async refresh(refreshToken: string, client: ClientInfo = {}): Promise<TokenSet> {
    return toTokenSet(await this.#engine.refresh(refreshToken, client));
  }

  /** Verifies an access token and checks its session (touching it when due), as the guard does. */
  async verify(accessToken: string): Promise<SessionHandle> {
    if (typeof accessToken !== "string") throw new SessionError("token_invalid");
    return this.#engine.check(this.#engine.verifyToken(accessToken));
  }

  /** One live session of the user, or `null`. */
  get(sessionId: string, userId: string): Promise<SessionInfo | null> {
    return this.#engine.get(sessionId, userId);
  }

  /** The user's live sessions, newest first (`current` is false: there is no request). */
  list(userId: string): Promise<SessionInfo[]> {
    return this.#engine.list(userId);
  }

  /** Revokes one session (`revoke` event, reason `revoked`); `false` when there was no such live session. */
  revoke(sessionId: string, userId: string): Promise<boolean> {
    return this.#engine.revoke(sessionId, userId);
  }

  /** Revokes every session of the user, or all but `except` (`revoke` events). Resolves to the count. */
  revokeAll(userId: string, options: { except?: string } = {}): Promise<number> {
    return this.#engine.revokeAll(userId, options);
  }
}
