/**
 * The refresh-token flow: rotation with the reuse window, and logout by a
 * refresh token. A token is checked for its MAC before any store call (a
 * made-up token revokes nothing); the store then decides current, repeated
 * or spent in one atomic step, so the answer never depends on a race.
 *
 * @module
 */
import { SessionError } from "../errors.js";
import type { ResolvedConfig, SessionEvents } from "../options.js";
import { digest, isGenuine, issueRefreshToken, parseRefreshToken, type RefreshToken } from "../tokens/refresh.js";
import type { AccessTokenConfig } from "../tokens/access.js";
import { issueTokens, type IssuedTokens } from "./issue.js";
import { clip, MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, SESSION_ID } from "./limits.js";
import type { StoreCaller } from "./store-call.js";

/**
 * Client details recorded on refresh (shown in session lists).
 *
 * @example
 * ```ts
 * await guard.sessions.refresh(refreshToken, { ip: req.ip, userAgent: req.get("user-agent") });
 * ```
 */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

/** What the flow needs of the engine. */
export interface RefreshFlowContext {
  config: ResolvedConfig;
  access: AccessTokenConfig;
  callStore: StoreCaller;
  emit<E extends keyof SessionEvents>(event: E, payload: SessionEvents[E]): void;
  /** Told of a session this flow ended, so this process's cache drops it at once. */
  ended(sessionId: string): void;
}

/** Rotates a refresh token: a new access token and a new refresh token. */
export async function rotateRefreshToken(context: RefreshFlowContext, refreshToken: unknown, client: ClientInfo): Promise<IssuedTokens> {
  const { config } = context;
  const { userId, sessionId, generation, seed } = genuineRefreshToken(config, refreshToken);
  const successor = issueRefreshToken(config.refreshKey, userId, sessionId, generation + 1, seed);
  const now = config.now();
  const input = {
    userId,
    sessionId,
    generation,
    presentedHash: digest(refreshToken as string),
    successorHash: digest(successor),
    now,
    reuseWindow: config.refreshReuseWindow,
    ip: clip(client.ip, MAX_IP_LENGTH),
    userAgent: clip(client.userAgent, MAX_USER_AGENT_LENGTH),
  };
  const result = await context.callStore("rotate", () => config.store.rotate(input), { sub: userId, sid: sessionId });
  switch (result.status) {
    case "rotated":
      context.emit("refresh", { sessionId, userId });
      return issueTokens(context.access, result.record, successor, now);
    case "repeated":
      return issueTokens(context.access, result.record, successor, now);
    case "reused":
      context.ended(sessionId);
      context.emit("reuse_detected", { sessionId, userId });
      throw new SessionError("refresh_token_reused");
    default:
      throw new SessionError("refresh_token_invalid");
  }
}

/**
 * Ends the session of a current (or just-spent) refresh token, for a logout
 * whose access token has expired. A spent token is reuse, as at refresh:
 * the store revokes the session and this throws `refresh_token_reused`.
 * Never rotates the token.
 */
export async function logoutWithRefreshToken(context: RefreshFlowContext, refreshToken: unknown): Promise<void> {
  const { config } = context;
  const { userId, sessionId, generation } = genuineRefreshToken(config, refreshToken);
  const presented = digest(refreshToken as string);
  const now = config.now();
  const outcome = await context.callStore(
    "revokeByRefresh",
    () => config.store.revokeByRefresh(userId, sessionId, generation, presented, now, config.refreshReuseWindow),
    { sub: userId, sid: sessionId },
  );
  if (outcome !== "invalid") context.ended(sessionId);
  if (outcome === "ended") {
    context.emit("logout", { sessionId, userId });
    return;
  }
  if (outcome === "reused") {
    context.emit("reuse_detected", { sessionId, userId });
    throw new SessionError("refresh_token_reused");
  }
  throw new SessionError("refresh_token_invalid");
}

/** The parsed token when it is of our form and its MAC verifies; no store call otherwise. */
function genuineRefreshToken(config: ResolvedConfig, refreshToken: unknown): RefreshToken {
  const parsed = typeof refreshToken === "string" ? parseRefreshToken(refreshToken) : null;
  if (!parsed || !SESSION_ID.test(parsed.sessionId) || !isGenuine(config.refreshKey, parsed)) {
    throw new SessionError("refresh_token_invalid");
  }
  return parsed;
}
