/**
 * The JSON shapes of the answers: a session as the routes send it
 * (snake_case, ISO-8601 times) and the token set of login and refresh
 * (OAuth 2.0 token response style). `guard.sessions` hands out the same
 * token set, so a custom login flow can send it as it is.
 *
 * @module
 */
import { toInfo, type SessionInfo } from "../sessions/info.js";
import type { IssuedTokens } from "../sessions/issue.js";

/**
 * A session as the routes send it (snake_case, ISO-8601 times).
 *
 * @example
 * ```ts
 * const { sessions } = (await (await fetch("/auth/sessions", { headers })).json()) as { sessions: SessionInfoJson[] };
 * ```
 */
export interface SessionInfoJson {
  id: string;
  current: boolean;
  created_at: string;
  last_used_at: string;
  /** `null` for a forever session. */
  expires_at: string | null;
  remember_me: boolean;
  ip: string | null;
  user_agent: string | null;
}

/**
 * The token set (OAuth 2.0 response style) that login and refresh return.
 *
 * @example
 * ```ts
 * const tokens: TokenSet = await guard.sessions.create(userId);
 * res.set("Cache-Control", "no-store").json(tokens);
 * ```
 */
export interface TokenSet {
  access_token: string;
  token_type: "Bearer";
  /** The access token's lifetime in seconds (`exp − iat`). */
  expires_in: number;
  refresh_token: string;
  /** The session, `current: true`. */
  session: SessionInfoJson;
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

/** The token set of issued tokens. */
export function toTokenSet(issued: IssuedTokens): TokenSet {
  return {
    access_token: issued.accessToken,
    token_type: "Bearer",
    expires_in: issued.expiresIn,
    refresh_token: issued.refreshToken,
    session: toJson(toInfo(issued.record, issued.record.id)),
  };
}
