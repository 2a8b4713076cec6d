/**
 * Access tokens: short-lived JWTs (RFC 9068 `typ: at+jwt`) signed with
 * `jsonwebtoken`, carrying `sub` (user), `sid` (session), a unique `jti`,
 * `iat`, `exp` and the app's custom claims. Verification is strict and
 * needs no store: a token rejected here costs no round trip.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";
import { SessionError } from "../errors.js";
import type { KeyRing, PinnedKey } from "./keys.js";

/** The largest access token parsed at all. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

/** Claims the library sets itself; custom claims cannot override them. */
export const RESERVED_CLAIMS = new Set(["sub", "sid", "jti", "iat", "exp", "nbf", "iss", "aud"]);

/**
 * The verified payload of an access token: the library's own claims
 * (`sub` user, `sid` session, `jti`, `iat`, `exp`) beside the custom claims
 * given at login.
 *
 * @example
 * ```ts
 * app.get("/admin", guard, (req, res) => {
 *   const claims: AccessClaims = req.session.claims;
 *   if (claims.role !== "admin") return res.status(403).json({ error: "forbidden" });
 *   res.json({ user: claims.sub, session: claims.sid, expires: new Date(claims.exp * 1000) });
 * });
 * ```
 */
export interface AccessClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

/** What access-token signing and verification need, resolved once. */
export interface AccessTokenConfig {
  keys: KeyRing;
  issuer: string | undefined;
  audience: string | string[] | undefined;
  /** Seconds. */
  clockTolerance: number;
  /** Milliseconds. */
  ttl: number;
}

/**
 * Signs an access token for a session, expiring at `now + ttl` but never
 * after `notAfter` (the session's absolute deadline), in whole seconds.
 */
export function signAccessToken(
  config: AccessTokenConfig,
  input: { userId: string; sessionId: string; claims: Record<string, unknown>; now: number; notAfter: number | null },
): { token: string; expiresAt: number; lifetime: number } {
  const iat = Math.floor(input.now / 1000);
  let exp = Math.floor((input.now + config.ttl) / 1000);
  if (input.notAfter !== null) exp = Math.min(exp, Math.floor(input.notAfter / 1000));
  if (exp <= iat) exp = iat + 1;
  const payload: Record<string, unknown> = {};
  for (const name of Object.keys(input.claims)) {
    if (!RESERVED_CLAIMS.has(name)) payload[name] = input.claims[name];
  }
  payload.sub = input.userId;
  payload.sid = input.sessionId;
  payload.jti = randomBytes(16).toString("base64url");
  payload.iat = iat;
  payload.exp = exp;
  if (config.issuer !== undefined) payload.iss = config.issuer;
  if (config.audience !== undefined) payload.aud = config.audience;
  const { signing } = config.keys;
  const header: jwt.JwtHeader = { alg: signing.algorithm, typ: "at+jwt" };
  if (signing.kid !== undefined) header.kid = signing.kid;
  const token = jwt.sign(payload, signing.key, { algorithm: signing.algorithm, header });
  // `lifetime` is what OAuth's `expires_in` means: exp − iat, whole seconds.
  return { token, expiresAt: exp * 1000, lifetime: exp - iat };
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** RFC 9068 media types of an access token's `typ`, compared in lower case. */
const ACCESS_TOKEN_TYPES = new Set(["at+jwt", "application/at+jwt"]);

/**
 * Verifies an access token at `now`. Throws `SessionError` `token_expired`
 * for a well-signed but expired token and `token_invalid` for anything
 * else wrong.
 */
export function verifyAccessToken(config: AccessTokenConfig, token: string, now: number): AccessClaims {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) throw invalid("malformed");
  // Without configured kids every token is verified with the one key, and a
  // token naming a kid is refused after verification: no extra header parse.
  const pinned = config.keys.byKid.size === 0 ? config.keys.defaultKey : pickKey(config.keys, token);
  let decoded: jwt.Jwt;
  try {
    decoded = jwt.verify(token, pinned.key, {
      algorithms: pinned.algorithms,
      issuer: config.issuer,
      audience: config.audience as string | [string, ...string[]] | undefined,
      clockTimestamp: Math.floor(now / 1000),
      clockTolerance: config.clockTolerance,
      complete: true,
    });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw new SessionError("token_expired", undefined, { cause: err });
    throw invalid("rejected", err);
  }
  const header = decoded.header;
  if (header.kid !== undefined && config.keys.byKid.size === 0) throw invalid("unknown kid");
  // `crit` lists header extensions the verifier must understand (RFC 7515
  // §4.1.11); we understand none, so any `crit`, even an empty or malformed
  // one, refuses the token.
  if ((header as { crit?: unknown }).crit !== undefined) throw invalid("crit");
  const typ = header.typ;
  if (typeof typ !== "string" || !ACCESS_TOKEN_TYPES.has(typ.toLowerCase())) throw invalid("typ");
  const claims = decoded.payload as Record<string, unknown>;
  if (typeof claims !== "object" || claims === null) throw invalid("payload");
  const { sub, sid, iat, exp } = claims;
  if (typeof sub !== "string" || sub === "" || typeof sid !== "string" || sid === "") throw invalid("sub/sid");
  if (typeof iat !== "number" || typeof exp !== "number" || !Number.isFinite(iat) || !Number.isFinite(exp)) throw invalid("iat/exp");
  if (iat * 1000 > now + config.clockTolerance * 1000) throw invalid("iat in the future");
  if ((exp - iat) * 1000 > config.ttl) throw invalid("lifetime longer than accessTokenTtl");
  return claims as AccessClaims;
}

/** The key for the token's `kid` (only configured ones), or the default key. */
function pickKey(keys: KeyRing, token: string): PinnedKey {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"));
  } catch {
    throw invalid("header");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw invalid("header");
  const kid = (header as { kid?: unknown }).kid;
  if (kid === undefined) return keys.defaultKey;
  const pinned = typeof kid === "string" ? keys.byKid.get(kid) : undefined;
  if (!pinned) throw invalid("unknown kid");
  return pinned;
}

function invalid(reason: string, cause?: unknown): SessionError {
  return new SessionError("token_invalid", undefined, { cause: cause ?? new Error(reason) });
}
