/**
 * What login and refresh hand out: an access token for a session record,
 * beside its refresh token. Shapes for HTTP are made from this in
 * `http/json.ts`.
 *
 * @module
 */
import type { SessionRecord } from "../stores/store.js";
import { signAccessToken, type AccessTokenConfig } from "../tokens/access.js";

/** Tokens issued for a session, before any wire format. */
export interface IssuedTokens {
  accessToken: string;
  /** The access token's lifetime in whole seconds, `exp − iat`. */
  expiresIn: number;
  refreshToken: string;
  /** The session as stored after the login or refresh. */
  record: SessionRecord;
}

/**
 * Signs an access token for the record (its stored claims, expiring at
 * `now + accessTokenTtl` but never after the absolute deadline).
 */
export function issueTokens(access: AccessTokenConfig, record: SessionRecord, refreshToken: string, now: number): IssuedTokens {
  const claims = record.claims === "" ? {} : (JSON.parse(record.claims) as Record<string, unknown>);
  const notAfter = record.absoluteLifetime === null ? null : record.createdAt + record.absoluteLifetime;
  const signed = signAccessToken(access, { userId: record.userId, sessionId: record.id, claims, now, notAfter });
  return { accessToken: signed.token, expiresIn: signed.lifetime, refreshToken, record };
}
