/**
 * Redis key layout. All keys of one user share one hash slot through a
 * `{…}` hash tag over the base64url-encoded user id: the encoding is
 * injective and uses only `[A-Za-z0-9_-]`, so no user id (with `{`, `}`,
 * `:`, spaces, unicode, or 1 KB long) can break out of its key.
 *
 * - `<prefix>{<uid>}:s:<sid>` — string: one session record and its refresh state,
 *   packed (format version 2, see `redis.ts` and the scripts' headers)
 * - `<prefix>{<uid>}:i`       — sorted set: the user's session ids, scored by last use
 *
 * @module
 */

/** The hash-tagged base of every key of this user, e.g. `sg:{dXNlcg}:`. */
export function userKeyBase(prefix: string, userId: string): string {
  return `${prefix}{${Buffer.from(userId, "utf8").toString("base64url")}}:`;
}

/** The key of one session record. */
export function sessionKey(base: string, sessionId: string): string {
  return `${base}s:${sessionId}`;
}

/** The key of the user's index of session ids. */
export function indexKey(base: string): string {
  return `${base}i`;
}
