/**
 * `SessionInfo`: a session as the programmatic API shows it (camelCase,
 * `Date`s), made from a store record.
 *
 * @module
 */
import { deadlineOf, type SessionRecord } from "../stores/store.js";

/**
 * A session as the API shows it (camelCase, `Date`s).
 *
 * @example
 * ```ts
 * const sessions: SessionInfo[] = await guard.sessions.list(userId);
 * const stale = sessions.filter((s) => Date.now() - s.lastUsedAt.getTime() > 7 * 86_400_000);
 * ```
 */
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
  /** True for the session making the request (always false outside a request). */
  current: boolean;
}

/** The info of a record; `currentId` marks the caller's session. */
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
