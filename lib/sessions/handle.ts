/**
 * `req.session`: the session behind a request, made by the guard's check.
 *
 * @module
 */
import { deadlineOf, type SessionRecord } from "../stores/store.js";
import type { AccessClaims } from "../tokens/access.js";
import type { SessionInfo } from "./info.js";

/** What a handle asks of the session engine. */
export interface HandleActions {
  logout(sessionId: string, userId: string): Promise<boolean>;
  revokeAll(userId: string, options?: { except?: string }): Promise<number>;
  list(userId: string, currentId?: string): Promise<SessionInfo[]>;
}

/**
 * The session behind a request: `req.session` (or the guard's
 * `requestProperty`).
 *
 * @example
 * ```ts
 * app.post("/password", guard, async (req, res) => {
 *   await changePassword(req.session.userId, req.body.password);
 *   await req.session.revokeOthers(); // every other device logs in again
 *   res.sendStatus(204);
 * });
 * ```
 */
export class SessionHandle {
  /** The session id (`sid`). */
  readonly id: string;
  /** The user (`sub`). */
  readonly userId: string;
  /** The verified JWT payload, custom claims included. Deeply frozen: the guard reuses it for the token's next requests. */
  readonly claims: Readonly<AccessClaims>;
  /** Whether the session was created with `remember_me: true` (and remember-me is allowed). */
  readonly rememberMe: boolean;
  readonly #actions: HandleActions;
  // The record is kept as it came from the store: `Date`s and `data` are
  // built only when read, so the guard allocates nothing a route does not use.
  readonly #record: SessionRecord;

  /** @internal */
  constructor(actions: HandleActions, claims: AccessClaims, record: SessionRecord) {
    this.#actions = actions;
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

  /** The app data stored at login (`authenticate`'s `data`), or `undefined`. */
  get data(): unknown {
    return this.#record.data === "" ? undefined : JSON.parse(this.#record.data);
  }

  /** Logs this session out; resolves when the store has removed it. */
  async revoke(): Promise<void> {
    await this.#actions.logout(this.id, this.userId);
  }

  /** Global logout: every session of this user, this one included. Resolves to the count. */
  revokeAll(): Promise<number> {
    return this.#actions.revokeAll(this.userId);
  }

  /** Every session of this user but this one. Resolves to the count. */
  revokeOthers(): Promise<number> {
    return this.#actions.revokeAll(this.userId, { except: this.id });
  }

  /** This user's live sessions, newest first, this one marked `current`. */
  list(): Promise<SessionInfo[]> {
    return this.#actions.list(this.userId, this.id);
  }
}
