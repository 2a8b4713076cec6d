/**
 * Refresh tokens: opaque, single-use, and not JWTs.
 *
 * A token reads `<user>.<sid>.<generation>.<proof>`: `user` locates the
 * user's keys (base64url of the user id); `proof` is a per-session random
 * seed (16 bytes) followed by `HMAC-SHA256(refresh key, user.sid.generation.seed)`.
 * The refresh key is the server's (`refreshSecret`, or derived from the JWT
 * signing key) and is never stored. So:
 * - a made-up token, even with a real session id, fails the MAC before any
 *   store call, and revokes nothing;
 * - the successor of a token is derived again, not stored: two tabs
 *   presenting the same token inside the reuse window get the same one;
 * - a genuine token of any older generation is recognised in O(1) (its MAC
 *   verifies), so reuse of a spent token revokes the session, and nobody can
 *   compute a later generation from an earlier token without the key;
 * - the store keeps only SHA-256 digests of the current and previous
 *   tokens: a copy of the store does not let anyone refresh;
 * - with `refreshSecret` set, refresh tokens survive a rotation of the JWT keys.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";

const SEED_BYTES = 16;
const MAC_BYTES = 32;
/** The longest refresh token we parse (a user id of up to 2 KB encodes to under 2.8 KB). */
export const MAX_REFRESH_TOKEN_LENGTH = 4096;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const GENERATION = /^(0|[1-9][0-9]{0,14})$/;

/** A parsed refresh token (not yet verified). */
export interface RefreshToken {
  userId: string;
  sessionId: string;
  generation: number;
  seed: Buffer;
  /** The token's MAC, to compare with the expected one. */
  mac: Buffer;
}

/** A fresh per-session seed. */
export function newRefreshSeed(): Buffer {
  return randomBytes(SEED_BYTES);
}

/** The token of one generation of a session. */
export function issueRefreshToken(key: KeyObject, userId: string, sessionId: string, generation: number, seed: Buffer): string {
  const head = headOf(userId, sessionId, generation);
  const mac = macOf(key, head, seed);
  return `${head}.${Buffer.concat([seed, mac]).toString("base64url")}`;
}

/** True when the token was made with this key (constant-time comparison). */
export function isGenuine(key: KeyObject, token: RefreshToken): boolean {
  return timingSafeEqual(macOf(key, headOf(token.userId, token.sessionId, token.generation), token.seed), token.mac);
}

/** The digest the store keeps for a token. */
export function digest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** Parses a presented token, or returns `null` when it is not of our form. */
export function parseRefreshToken(value: string): RefreshToken | null {
  if (value.length > MAX_REFRESH_TOKEN_LENGTH) return null;
  const parts = value.split(".");
  if (parts.length !== 4) return null;
  const [user, sessionId, generationText, proofText] = parts as [string, string, string, string];
  if (!SEGMENT.test(user) || !SEGMENT.test(sessionId) || !GENERATION.test(generationText) || !SEGMENT.test(proofText)) return null;
  const proof = Buffer.from(proofText, "base64url");
  if (proof.length !== SEED_BYTES + MAC_BYTES || proof.toString("base64url") !== proofText) return null;
  const userBytes = Buffer.from(user, "base64url");
  if (userBytes.toString("base64url") !== user) return null;
  const userId = userBytes.toString("utf8");
  // Ids that are not valid UTF-8 cannot have been issued.
  if (Buffer.from(userId, "utf8").toString("base64url") !== user) return null;
  return {
    userId,
    sessionId,
    generation: Number(generationText),
    seed: proof.subarray(0, SEED_BYTES),
    mac: proof.subarray(SEED_BYTES),
  };
}

/** The token's readable part: `<user>.<sid>.<generation>`, what the MAC covers. */
function headOf(userId: string, sessionId: string, generation: number): string {
  return `${Buffer.from(userId, "utf8").toString("base64url")}.${sessionId}.${generation}`;
}

function macOf(key: KeyObject, head: string, seed: Buffer): Buffer {
  return createHmac("sha256", key).update(head).update(".").update(seed).digest();
}
