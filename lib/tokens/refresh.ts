/**
 * Refresh tokens: opaque, single-use, and a hash chain rather than a JWT.
 *
 * A token reads `<user>.<sid>.<generation>.<secret>`: `user` locates the
 * user's keys (base64url of the user id), `secret` is 32 bytes, base64url.
 * Generation 0's secret is random; each successor's secret is derived from
 * its predecessor's: `secret(g+1) = HMAC-SHA256(key = secret(g), "session-guard refresh")`.
 * The store keeps only `SHA-256(token)` of the current and the previous
 * generation, so:
 * - a copy of the store does not let anyone refresh (digests only);
 * - two tabs presenting the same token inside the reuse window get the same
 *   successor without the store keeping it (it is derived again);
 * - a token two or more rotations old can be proven genuine by walking the
 *   chain forward to the current digest, so reuse of a real old token
 *   revokes the session while a made-up one (a real `sid`, a forged secret)
 *   revokes nothing;
 * - no JWT key is involved, so refresh tokens survive a JWT key rotation.
 *
 * @module
 */
import { createHash, createHmac, randomBytes } from "node:crypto";

const SECRET_BYTES = 32;
const CHAIN_LABEL = "session-guard refresh";
/** The longest refresh token we parse (a user id of up to 2 KB encodes to under 2.8 KB). */
export const MAX_REFRESH_TOKEN_LENGTH = 4096;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** A parsed refresh token. */
export interface RefreshToken {
  userId: string;
  sessionId: string;
  generation: number;
  secret: Buffer;
}

/** A fresh generation-0 secret. */
export function newRefreshSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

/** The token text for a chain element. */
export function formatRefreshToken(userId: string, sessionId: string, generation: number, secret: Buffer): string {
  return `${Buffer.from(userId, "utf8").toString("base64url")}.${sessionId}.${generation}.${secret.toString("base64url")}`;
}

/** The successor of a chain element. */
export function nextSecret(secret: Buffer): Buffer {
  return createHmac("sha256", secret).update(CHAIN_LABEL).digest();
}

/** The digest the store keeps for a token. */
export function digest(userId: string, sessionId: string, generation: number, secret: Buffer): string {
  return createHash("sha256").update(formatRefreshToken(userId, sessionId, generation, secret)).digest("base64url");
}

/** Parses a presented token, or returns `null` when it is not of our form. */
export function parseRefreshToken(value: string): RefreshToken | null {
  if (value.length > MAX_REFRESH_TOKEN_LENGTH) return null;
  const parts = value.split(".");
  if (parts.length !== 4) return null;
  const [user, sessionId, generationText, secretText] = parts as [string, string, string, string];
  if (!SEGMENT.test(user) || !SEGMENT.test(sessionId) || !/^(0|[1-9][0-9]{0,14})$/.test(generationText) || !SEGMENT.test(secretText)) return null;
  const secret = Buffer.from(secretText, "base64url");
  if (secret.length !== SECRET_BYTES || secret.toString("base64url") !== secretText) return null;
  const userBytes = Buffer.from(user, "base64url");
  if (userBytes.toString("base64url") !== user) return null;
  const userId = userBytes.toString("utf8");
  // Reject ids that are not valid UTF-8: they cannot have been issued.
  if (Buffer.from(userId, "utf8").toString("base64url") !== user) return null;
  return { userId, sessionId, generation: Number(generationText), secret };
}
