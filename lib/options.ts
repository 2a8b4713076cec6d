/**
 * The public options of `sessionGuard()`, and the type of the frozen
 * internal config they resolve to (see `config/`), with the events a guard
 * emits.
 *
 * @module
 */
import type { NextFunction, Request, Response } from "express";
import type { ResolvedCache } from "./config/cache.js";
import type { ResolvedDeadlines } from "./config/deadlines.js";
import type { ResolvedJwt } from "./config/jwt.js";
import type { ResolvedStore } from "./config/store.js";
import type { ResolvedTransport } from "./config/transport.js";
import type { Duration } from "./duration.js";
import type { SessionError } from "./errors.js";
import type { Store } from "./stores/store.js";
import type { JwtAlgorithm, KeyInput, VerifyKey } from "./tokens/keys.js";

/**
 * JWT settings (`jwt` option).
 *
 * @example
 * ```ts
 * sessionGuard({
 *   jwt: { algorithm: "ES256", privateKey: readFileSync("es256.pem"), keyId: "2026-12", issuer: "https://auth.example" },
 * });
 * ```
 */
export interface JwtOptions {
  /** Default `"HS256"`. */
  algorithm?: JwtAlgorithm;
  /** HMAC secret, at least 32 bytes (HS algorithms). */
  secret?: string | Buffer;
  /** Signing key for RS256, PS256, ES256/384/512. */
  privateKey?: KeyInput;
  /** Verification key; derived from `privateKey` when omitted. */
  publicKey?: KeyInput;
  /** `kid` written into every token's header. */
  keyId?: string;
  /** Retired keys that still verify tokens carrying their `kid`, during a rotation. */
  verifyKeys?: VerifyKey[];
  /** `iss` written and required. */
  issuer?: string;
  /** `aud` written and required. */
  audience?: string | string[];
  /** Leeway for `exp`, `nbf` and `iat` checks. Default `"30s"`. */
  clockTolerance?: Duration;
}

/**
 * Deadlines of one kind of session; `null` disables a deadline.
 *
 * @example
 * ```ts
 * sessionGuard({ secret, rememberMe: { idleTimeout: "90d", absoluteLifetime: null } });
 * ```
 */
export interface DeadlineOptions {
  idleTimeout?: Duration | null;
  absoluteLifetime?: Duration | null;
}

/**
 * Cookie settings for `transport: "cookie"` or `"both"`.
 *
 * @example
 * ```ts
 * sessionGuard({ secret, transport: "cookie", cookie: { sameSite: "lax", domain: "app.example" } });
 * ```
 */
export interface CookieOptions {
  /** Default `true`. `false` (plain HTTP on localhost only) also drops the `__Host-`/`__Secure-` name prefixes. */
  secure?: boolean;
  /** Default `"strict"`. */
  sameSite?: "strict" | "lax" | "none";
  /** Cookie domain; the access cookie then takes the `__Secure-` prefix, since `__Host-` forbids a domain. */
  domain?: string;
  /** Access cookie name before its prefix. Default `"sg-access"`. */
  accessName?: string;
  /** Refresh cookie name before its prefix. Default `"sg-refresh"`. */
  refreshName?: string;
}

/**
 * The events a guard emits and their payloads (never a token).
 *
 * @example
 * ```ts
 * guard.on("revoke", ({ sessionId, reason }) => metrics.increment(`session.revoke.${reason}`));
 * guard.on("store_error", ({ operation, error }) => log.error({ operation, err: error }));
 * ```
 */
export interface SessionEvents {
  login: { sessionId: string; userId: string; rememberMe: boolean };
  refresh: { sessionId: string; userId: string };
  logout: { sessionId: string; userId: string };
  revoke: { sessionId: string; userId: string; reason: "logout-all" | "logout-others" | "revoked" | "evicted" };
  reuse_detected: { sessionId: string; userId: string };
  store_error: { error: Error; operation: string; sessionId?: string; userId?: string };
}

/**
 * Options of `sessionGuard()`; each is validated once, at construction.
 *
 * @example
 * ```ts
 * const options: SessionGuardOptions = {
 *   store: new RedisStore({ url: process.env.REDIS_URL! }),
 *   secret: process.env.SESSION_SECRET,
 *   idleTimeout: "1d",
 *   maxSessionsPerUser: 10,
 * };
 * const guard = sessionGuard(options);
 * ```
 */
export interface SessionGuardOptions {
  /** Where sessions live. Default: a `MemoryStore`, with a one-time warning. */
  store?: Store;
  /** HS256 key (≥ 32 bytes); shorthand for `jwt.secret`. */
  secret?: string | Buffer;
  jwt?: JwtOptions;
  /**
   * Key (≥ 32 bytes) that signs refresh tokens. Default: derived from the JWT
   * signing key. Set it to keep refresh tokens working across a rotation of
   * the JWT keys.
   */
  refreshSecret?: string | Buffer;
  /** Default `"15m"`. */
  accessTokenTtl?: Duration;
  /** Default `"1d"`; `null`: never. */
  idleTimeout?: Duration | null;
  /** Default `"30d"`; `null`: never. */
  absoluteLifetime?: Duration | null;
  /** Default `{ idleTimeout: "30d", absoluteLifetime: "365d" }`; both `null`: forever sessions. */
  rememberMe?: DeadlineOptions;
  /** Default `true`. */
  allowRememberMe?: boolean;
  /** Default `"1m"`, or idleTimeout/10 when smaller. */
  touchInterval?: Duration;
  /** Default `"10s"`. */
  refreshReuseWindow?: Duration;
  /** Default `100`; `null`: no cap. */
  maxSessionsPerUser?: number | null;
  /** Default `"header"`. */
  transport?: "header" | "cookie" | "both";
  cookie?: CookieOptions;
  /** Origins whose cookie-authenticated unsafe requests pass the CSRF check. Default `[]`. */
  trustedOrigins?: string[];
  /** Default `"x-requested-with"`. */
  csrfHeader?: string;
  /** A custom token extractor; replaces the header and cookie lookup. */
  getToken?: (req: Request) => string | undefined;
  /** Default `"session"`. */
  requestProperty?: string;
  /** Default `"1s"`. */
  storeTimeout?: Duration;
  /** Default `"deny"`. */
  onStoreError?: "deny" | "allow";
  /** Answer errors in the app's own format. */
  onError?: (err: SessionError, req: Request, res: Response, next: NextFunction) => void;
  /** Default `Date.now`: the one clock for deadlines and JWT time checks. */
  now?: () => number;
  /**
   * A local session cache in each process, off by default: a guarded
   * request may be answered from memory for at most `ttl` after the store
   * last confirmed the session; every revocation, made by any process,
   * drops it at once through the store's pub/sub. Needs `RedisStore`.
   */
  cache?: CacheOptions | false;
}

/**
 * The `cache` option.
 *
 * @example
 * ```ts
 * const cache: CacheOptions = { ttl: "5s", max: 10_000 };
 * sessionGuard({ store: new RedisStore({ client }), secret, cache });
 * ```
 */
export interface CacheOptions {
  /** How long after the store last confirmed a session a process may accept it from memory. Default `"5s"`; at most `"1h"`. */
  ttl?: Duration;
  /** Sessions kept at most, least recently used dropped first. Default `10000`. */
  max?: number;
}

/** The frozen internal config, resolved once by `resolveOptions` (`config/resolve.ts`). */
export interface ResolvedConfig extends ResolvedJwt, ResolvedDeadlines, ResolvedTransport, ResolvedStore, ResolvedCache {
  getToken: ((req: Request) => string | undefined) | undefined;
  requestProperty: string;
  onError: SessionGuardOptions["onError"];
  now: () => number;
}
