/**
 * Options from environment variables (DreamFactory / Corteza style).
 *
 * @module
 */
import type { CacheOptions, SessionGuardOptions } from "./options.js";
import { RedisStore } from "./stores/redis.js";

/** Turns the `SESSION_*` and `REDIS_URL` variables into options; `overrides` win. */
export function optionsFromEnv(env: Record<string, string | undefined>, overrides: SessionGuardOptions): SessionGuardOptions {
  const options: SessionGuardOptions = {};
  const read = (name: string) => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const duration = (name: string): string | number | null | undefined => {
    const value = read(name);
    if (value === undefined) return undefined;
    if (/^(null|none|never|off)$/i.test(value)) return null;
    return /^\d+$/.test(value) ? Number(value) : value;
  };
  const secret = read("SESSION_SECRET");
  if (secret !== undefined && overrides.jwt === undefined && overrides.secret === undefined) options.secret = secret;
  const refreshSecret = read("SESSION_REFRESH_SECRET");
  if (refreshSecret !== undefined) options.refreshSecret = refreshSecret;
  const accessTokenTtl = duration("SESSION_ACCESS_TOKEN_TTL");
  if (accessTokenTtl === null)
    throw new TypeError("session-guard: `SESSION_ACCESS_TOKEN_TTL` must be a duration such as 15m; access tokens always expire");
  if (accessTokenTtl !== undefined) options.accessTokenTtl = accessTokenTtl;
  const idleTimeout = duration("SESSION_IDLE_TIMEOUT");
  if (idleTimeout !== undefined) options.idleTimeout = idleTimeout;
  const absoluteLifetime = duration("SESSION_ABSOLUTE_LIFETIME");
  if (absoluteLifetime !== undefined) options.absoluteLifetime = absoluteLifetime;
  const rememberMe: { idleTimeout?: string | number | null; absoluteLifetime?: string | number | null } = {};
  const rememberIdle = duration("SESSION_REMEMBER_ME_IDLE_TIMEOUT");
  if (rememberIdle !== undefined) rememberMe.idleTimeout = rememberIdle;
  const rememberLifetime = duration("SESSION_REMEMBER_ME_LIFETIME");
  if (rememberLifetime !== undefined) rememberMe.absoluteLifetime = rememberLifetime;
  const forever = read("SESSION_ALLOW_FOREVER");
  if (forever !== undefined) {
    if (!/^(true|false|1|0|yes|no)$/i.test(forever)) throw new TypeError("session-guard: `SESSION_ALLOW_FOREVER` must be true or false");
    if (/^(true|1|yes)$/i.test(forever)) {
      rememberMe.idleTimeout = null;
      rememberMe.absoluteLifetime = null;
    }
  }
  if (Object.keys(rememberMe).length > 0) options.rememberMe = rememberMe;
  const max = read("SESSION_MAX_PER_USER");
  if (max !== undefined) {
    if (/^(null|none|0)$/i.test(max)) options.maxSessionsPerUser = null;
    else if (/^\d+$/.test(max)) options.maxSessionsPerUser = Number(max);
    else throw new TypeError("session-guard: `SESSION_MAX_PER_USER` must be a whole number, or 0 for no cap");
  }
  const cacheMax = read("SESSION_CACHE_MAX");
  const ttl = duration("SESSION_CACHE_TTL");
  // SESSION_CACHE_TTL=off (or none) keeps the cache off, whatever SESSION_CACHE_MAX says.
  if (ttl === null) options.cache = false;
  else if (ttl !== undefined || cacheMax !== undefined) {
    const cache: CacheOptions = {};
    if (ttl !== undefined) cache.ttl = ttl;
    if (cacheMax !== undefined) {
      if (!/^\d+$/.test(cacheMax)) throw new TypeError("session-guard: `SESSION_CACHE_MAX` must be a whole number of sessions");
      cache.max = Number(cacheMax);
    }
    options.cache = cache;
  }
  return { ...options, ...overrides };
}

/** The `REDIS_URL` of the environment, unless `overrides` bring their own store. */
export function redisUrlFromEnv(env: Record<string, string | undefined>, overrides: SessionGuardOptions): string | undefined {
  const url = env.REDIS_URL?.trim();
  return url && overrides.store === undefined ? url : undefined;
}

/** A store the guard owns, made from `REDIS_URL`. */
export function storeFromUrl(url: string): RedisStore {
  return new RedisStore({ url });
}
