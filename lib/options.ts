/**
 * The public options of `sessionGuard()` and the frozen internal config they
 * resolve to, once, at construction. Nothing on the hot path reads raw
 * options. Every mistake throws a `TypeError` that names the option.
 *
 * @module
 */
import type { NextFunction, Request, Response } from "express";
import { describe, parseDuration, type Duration } from "./duration.js";
import type { SessionError } from "./errors.js";
import { MemoryStore } from "./stores/memory.js";
import type { Store } from "./stores/store.js";
import type { KeyObject } from "node:crypto";
import { resolveKeys, resolveRefreshKey, type JwtAlgorithm, type KeyInput, type KeyRing, type VerifyKey } from "./tokens/keys.js";
import { warnOnce } from "./warnings.js";

/** JWT settings. */
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

/** Deadlines of one kind of session; `null` disables a deadline. */
export interface DeadlineOptions {
  idleTimeout?: Duration | null;
  absoluteLifetime?: Duration | null;
}

/** Cookie settings for `transport: "cookie"` or `"both"`. */
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

/** The events a guard emits and their payloads (never a token). */
export interface SessionEvents {
  login: { sessionId: string; userId: string; rememberMe: boolean };
  refresh: { sessionId: string; userId: string };
  logout: { sessionId: string; userId: string };
  revoke: { sessionId: string; userId: string; reason: "logout-all" | "logout-others" | "revoked" | "evicted" };
  reuse_detected: { sessionId: string; userId: string };
  store_error: { error: Error; operation: string; sessionId?: string; userId?: string };
}

/** Options of `sessionGuard()`. */
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
}

/** Deadlines resolved to milliseconds or `null`. */
export interface Deadlines {
  idleTimeout: number | null;
  absoluteLifetime: number | null;
}

/** Cookie settings resolved: final names and attributes. */
export interface ResolvedCookies {
  accessName: string;
  refreshName: string;
  secure: boolean;
  sameSite: "strict" | "lax" | "none";
  domain: string | undefined;
}

/** The frozen internal config. */
export interface ResolvedConfig {
  store: Store;
  keys: KeyRing;
  refreshKey: KeyObject;
  issuer: string | undefined;
  audience: string | string[] | undefined;
  clockTolerance: number;
  accessTokenTtl: number;
  standard: Deadlines;
  remembered: Deadlines;
  allowRememberMe: boolean;
  touchInterval: number;
  refreshReuseWindow: number;
  maxSessionsPerUser: number | null;
  transport: "header" | "cookie" | "both";
  cookie: ResolvedCookies;
  trustedOrigins: ReadonlySet<string>;
  csrfHeader: string;
  getToken: ((req: Request) => string | undefined) | undefined;
  requestProperty: string;
  storeTimeout: number;
  onStoreError: "deny" | "allow";
  onError: SessionGuardOptions["onError"];
  now: () => number;
}

const OPTION_NAMES = [
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
] as const;
const JWT_OPTION_NAMES = ["algorithm", "secret", "privateKey", "publicKey", "keyId", "verifyKeys", "issuer", "audience", "clockTolerance"];
const COOKIE_OPTION_NAMES = ["secure", "sameSite", "domain", "accessName", "refreshName"];
const DEADLINE_OPTION_NAMES = ["idleTimeout", "absoluteLifetime"];
const STORE_METHODS = ["create", "check", "rotate", "revokeByRefresh", "get", "list", "revoke", "revokeAll", "close"];
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Resolves and validates options once. Throws `TypeError` naming the option. */
export function resolveOptions(options: SessionGuardOptions): ResolvedConfig {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("session-guard: sessionGuard(options) takes an options object");
  }
  rejectUnknown("", options, OPTION_NAMES);

  const jwtOptions = plainObject("jwt", orDefault(options.jwt, {})) as JwtOptions;
  rejectUnknown("jwt.", jwtOptions, JWT_OPTION_NAMES);
  if (options.secret !== undefined && jwtOptions.secret !== undefined) {
    throw new TypeError("session-guard: give the secret once: either `secret` or `jwt.secret`, not both");
  }
  const algorithm = orDefault(jwtOptions.algorithm, "HS256" as JwtAlgorithm);
  if (typeof algorithm === "string" && algorithm.startsWith("HS") && options.secret === undefined && jwtOptions.secret === undefined) {
    throw new TypeError("session-guard: `secret` is required (a string or Buffer of at least 32 bytes), or give `jwt` with a key");
  }
  const keys = resolveKeys({ ...jwtOptions, algorithm, secret: options.secret ?? jwtOptions.secret });
  if (jwtOptions.issuer !== undefined && (typeof jwtOptions.issuer !== "string" || jwtOptions.issuer === "")) {
    throw new TypeError("session-guard: `jwt.issuer` must be a non-empty string");
  }
  const audience = jwtOptions.audience;
  if (
    audience !== undefined &&
    !(typeof audience === "string" && audience !== "") &&
    !(Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === "string" && a !== ""))
  ) {
    throw new TypeError("session-guard: `jwt.audience` must be a non-empty string or array of strings");
  }
  const clockTolerance =
    jwtOptions.clockTolerance === 0 ? 0 : parseDuration("jwt.clockTolerance", orDefault(jwtOptions.clockTolerance, "30s"));

  const refresh = resolveRefreshKey(keys, options.refreshSecret);
  if (refresh.derived && (jwtOptions.verifyKeys?.length ?? 0) > 0) {
    warnOnce(
      "SESSION_GUARD_REFRESH_KEY_FROM_JWT",
      "session-guard: refresh tokens are signed with a key derived from the JWT signing key, so a rotation of the JWT keys (`jwt.verifyKeys`) ends every refresh token issued before it. Set `refreshSecret` to keep refresh tokens across JWT key rotations.",
    );
  }
  const accessTokenTtl = parseDuration("accessTokenTtl", orDefault(options.accessTokenTtl, "15m"));
  if (accessTokenTtl < 1000 || accessTokenTtl % 1000 !== 0) {
    throw new TypeError(
      `session-guard: \`accessTokenTtl\` must be a whole number of seconds, at least 1s, since JWT times are in seconds (got ${accessTokenTtl} ms)`,
    );
  }
  const standard = deadlines(
    "",
    { idleTimeout: options.idleTimeout, absoluteLifetime: options.absoluteLifetime },
    { idleTimeout: "1d", absoluteLifetime: "30d" },
  );
  const rememberOptions = plainObject("rememberMe", orDefault(options.rememberMe, {})) as DeadlineOptions;
  rejectUnknown("rememberMe.", rememberOptions, DEADLINE_OPTION_NAMES);
  const remembered = deadlines("rememberMe.", rememberOptions, { idleTimeout: "30d", absoluteLifetime: "365d" });

  const allowRememberMe = boolean("allowRememberMe", orDefault(options.allowRememberMe, true));
  const idles = [standard.idleTimeout, allowRememberMe ? remembered.idleTimeout : null].filter((v): v is number => v !== null);
  const shortestIdle = idles.length ? Math.min(...idles) : null;
  const touchInterval =
    options.touchInterval === undefined
      ? Math.max(1, Math.min(60_000, shortestIdle === null ? 60_000 : Math.floor(shortestIdle / 10)))
      : parseDuration("touchInterval", options.touchInterval);
  if (shortestIdle !== null && touchInterval >= shortestIdle) {
    throw new TypeError(
      `session-guard: \`touchInterval\` (${touchInterval} ms) must be shorter than the idle timeout (${shortestIdle} ms), or a session could die between two writes`,
    );
  }

  const maxSessionsPerUser = options.maxSessionsPerUser === undefined ? 100 : options.maxSessionsPerUser;
  if (maxSessionsPerUser !== null && (!Number.isInteger(maxSessionsPerUser) || maxSessionsPerUser < 1 || maxSessionsPerUser > 100_000)) {
    throw new TypeError(
      `session-guard: \`maxSessionsPerUser\` must be an integer from 1 to 100000, or null for no cap (got ${describe(maxSessionsPerUser)})`,
    );
  }

  const transport = orDefault(options.transport, "header");
  if (transport !== "header" && transport !== "cookie" && transport !== "both") {
    throw new TypeError(`session-guard: \`transport\` must be "header", "cookie" or "both" (got ${describe(transport)})`);
  }

  const trustedOrigins = orDefault(options.trustedOrigins, []);
  if (!Array.isArray(trustedOrigins))
    throw new TypeError('session-guard: `trustedOrigins` must be an array of origins like "https://app.example"');
  for (const origin of trustedOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = typeof origin === "string" ? new URL(origin) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw new TypeError(
        `session-guard: \`trustedOrigins\` entries must be origins like "https://app.example" with no path or trailing slash (got ${describe(origin)})`,
      );
    }
  }
  const csrfHeader = orDefault(options.csrfHeader, "x-requested-with");
  if (typeof csrfHeader !== "string" || !COOKIE_NAME.test(csrfHeader))
    throw new TypeError("session-guard: `csrfHeader` must be an HTTP header name");

  const requestProperty = orDefault(options.requestProperty, "session");
  if (typeof requestProperty !== "string" || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(requestProperty) || requestProperty === "__proto__") {
    throw new TypeError('session-guard: `requestProperty` must be an identifier such as "session" or "auth"');
  }
  const onStoreError = orDefault(options.onStoreError, "deny");
  if (onStoreError !== "deny" && onStoreError !== "allow") throw new TypeError('session-guard: `onStoreError` must be "deny" or "allow"');
  for (const name of ["getToken", "onError", "now"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function")
      throw new TypeError(`session-guard: \`${name}\` must be a function`);
  }

  const storeTimeout = parseDuration("storeTimeout", orDefault(options.storeTimeout, "1s"));
  if (storeTimeout > MAX_TIMER_MS)
    throw new TypeError(
      `session-guard: \`storeTimeout\` must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node runs`,
    );

  let store = options.store;
  if (store === undefined) {
    warnOnce(
      "SESSION_GUARD_MEMORY_STORE",
      "session-guard: no `store` given, so sessions live in this process's memory (MemoryStore). Pass `store: new RedisStore({ client })` to share sessions between processes and keep them across restarts.",
    );
    store = new MemoryStore();
  } else if (
    typeof store !== "object" ||
    store === null ||
    STORE_METHODS.some((m) => typeof (store as unknown as Record<string, unknown>)[m] !== "function")
  ) {
    throw new TypeError("session-guard: `store` must be a RedisStore, a MemoryStore or another implementation of the Store contract");
  }

  return Object.freeze({
    store,
    keys,
    refreshKey: refresh.key,
    issuer: jwtOptions.issuer,
    audience,
    clockTolerance: clockTolerance / 1000,
    accessTokenTtl,
    standard,
    remembered,
    allowRememberMe,
    touchInterval,
    refreshReuseWindow: parseDuration("refreshReuseWindow", orDefault(options.refreshReuseWindow, "10s")),
    maxSessionsPerUser,
    transport,
    cookie: resolveCookies(options.cookie),
    trustedOrigins: new Set(trustedOrigins),
    csrfHeader: csrfHeader.toLowerCase(),
    getToken: options.getToken,
    requestProperty,
    storeTimeout,
    onStoreError,
    onError: options.onError,
    now: options.now === undefined ? Date.now : wholeMilliseconds(options.now),
  });
}

function deadlines(prefix: string, given: DeadlineOptions, defaults: { idleTimeout: string; absoluteLifetime: string }): Deadlines {
  const idleTimeout = parseDuration(
    `${prefix}idleTimeout`,
    given.idleTimeout === undefined ? defaults.idleTimeout : given.idleTimeout,
    true,
  );
  const absoluteLifetime = parseDuration(
    `${prefix}absoluteLifetime`,
    given.absoluteLifetime === undefined ? defaults.absoluteLifetime : given.absoluteLifetime,
    true,
  );
  if (idleTimeout !== null && absoluteLifetime !== null && idleTimeout > absoluteLifetime) {
    throw new TypeError(
      `session-guard: \`${prefix}idleTimeout\` must not be longer than \`${prefix}absoluteLifetime\`: lower it, or set the lifetime to null`,
    );
  }
  return Object.freeze({ idleTimeout, absoluteLifetime });
}

function resolveCookies(value: CookieOptions | undefined): ResolvedCookies {
  const cookie = plainObject("cookie", orDefault(value, {})) as CookieOptions;
  rejectUnknown("cookie.", cookie, COOKIE_OPTION_NAMES);
  const secure = boolean("cookie.secure", orDefault(cookie.secure, true));
  const sameSite = orDefault(cookie.sameSite, "strict");
  if (sameSite !== "strict" && sameSite !== "lax" && sameSite !== "none")
    throw new TypeError('session-guard: `cookie.sameSite` must be "strict", "lax" or "none"');
  if (sameSite === "none" && !secure)
    throw new TypeError('session-guard: `cookie.sameSite: "none"` needs `cookie.secure: true` (browsers refuse it otherwise)');
  if (cookie.domain !== undefined && (typeof cookie.domain !== "string" || !/^[A-Za-z0-9.-]+$/.test(cookie.domain))) {
    throw new TypeError("session-guard: `cookie.domain` must be a domain name");
  }
  const names = { accessName: orDefault(cookie.accessName, "sg-access"), refreshName: orDefault(cookie.refreshName, "sg-refresh") };
  for (const [name, v] of Object.entries(names)) {
    if (typeof v !== "string" || !COOKIE_NAME.test(v) || v.startsWith("__")) {
      throw new TypeError(`session-guard: \`cookie.${name}\` must be a cookie name without a "__" prefix (the prefix is added for you)`);
    }
  }
  if (names.accessName === names.refreshName)
    throw new TypeError("session-guard: `cookie.accessName` and `cookie.refreshName` must differ");
  const accessPrefix = !secure ? "" : cookie.domain === undefined ? "__Host-" : "__Secure-";
  const refreshPrefix = secure ? "__Secure-" : "";
  return Object.freeze({
    accessName: accessPrefix + names.accessName,
    refreshName: refreshPrefix + names.refreshName,
    secure,
    sameSite,
    domain: cookie.domain,
  });
}

function rejectUnknown(prefix: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const close = closestName(key, known);
    throw new TypeError(`session-guard: unknown option \`${prefix}${key}\`${close ? ` (did you mean \`${prefix}${close}\`?)` : ""}`);
  }
}

/** The known name within a small edit distance of a misspelt one, if any. */
function closestName(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(given.length / 4)) + 1;
  for (const name of known) {
    const distance = editDistance(given.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Node's longest timer: a longer delay fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A user clock made to give whole milliseconds, as every store and TTL
 * expects. A reading that is no time at all (`NaN` from an invalid `Date`,
 * say) throws: compared with it, every deadline would pass for alive.
 */
function wholeMilliseconds(now: () => number): () => number {
  return () => {
    const ms = Math.floor(now());
    if (!Number.isSafeInteger(ms) || ms < 0)
      throw new Error(`session-guard: the \`now\` clock returned ${ms}, not epoch milliseconds; refusing to judge deadlines with it`);
    return ms;
  };
}

/** `value`, or `fallback` when the option was left out (`null` is kept, so it can be rejected). */
function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function plainObject(name: string, value: unknown): object {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TypeError(`session-guard: \`${name}\` must be an object`);
  return value;
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new TypeError(`session-guard: \`${name}\` must be true or false`);
  return value;
}
