/**
 * Every default of `sessionGuard()` in one frozen table, and the names of
 * every option. The resolvers read their defaults here, and the README test
 * checks the README against this table, so docs and code cannot drift.
 *
 * @module
 */

/** The defaults, as the README documents them (durations as written there). */
export const DEFAULTS = Object.freeze({
  accessTokenTtl: "15m",
  idleTimeout: "1d",
  absoluteLifetime: "30d",
  rememberMe: Object.freeze({ idleTimeout: "30d", absoluteLifetime: "365d" }),
  allowRememberMe: true,
  /** The most; idleTimeout/10 when that is smaller. */
  touchInterval: "1m",
  refreshReuseWindow: "10s",
  maxSessionsPerUser: 100,
  transport: "header",
  cookie: Object.freeze({ secure: true, sameSite: "strict", accessName: "sg-access", refreshName: "sg-refresh" }),
  trustedOrigins: Object.freeze([] as string[]),
  csrfHeader: "x-requested-with",
  requestProperty: "session",
  storeTimeout: "1s",
  onStoreError: "deny",
  jwt: Object.freeze({ algorithm: "HS256", clockTolerance: "30s" }),
  /** Used when `cache` is given without them; no cache at all when `cache` is left out. */
  cache: Object.freeze({ ttl: "5s", max: 10_000 }),
} as const);

/** Options of `sessionGuard()`. */
export const OPTION_NAMES = Object.freeze([
  "store",
  "secret",
  "jwt",
  "refreshSecret",
  "accessTokenTtl",
  "idleTimeout",
  "absoluteLifetime",
  "rememberMe",
  "allowRememberMe",
  "touchInterval",
  "refreshReuseWindow",
  "maxSessionsPerUser",
  "transport",
  "cookie",
  "trustedOrigins",
  "csrfHeader",
  "getToken",
  "requestProperty",
  "storeTimeout",
  "onStoreError",
  "onError",
  "now",
  "cache",
] as const);

/** Options of `jwt`. */
export const JWT_OPTION_NAMES = Object.freeze([
  "algorithm",
  "secret",
  "privateKey",
  "publicKey",
  "keyId",
  "verifyKeys",
  "issuer",
  "audience",
  "clockTolerance",
] as const);

/** Options of `cache`. */
export const CACHE_OPTION_NAMES = Object.freeze(["ttl", "max"] as const);

/** Options of `cookie`. */
export const COOKIE_OPTION_NAMES = Object.freeze(["secure", "sameSite", "domain", "accessName", "refreshName"] as const);

/** Options of `rememberMe` (and the top-level deadlines). */
export const DEADLINE_OPTION_NAMES = Object.freeze(["idleTimeout", "absoluteLifetime"] as const);
