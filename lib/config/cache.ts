/**
 * The `cache` option: the local session cache, off unless asked for.
 *
 * @module
 */
import { parseDuration } from "../duration.js";
import type { SessionGuardOptions } from "../options.js";
import type { Store } from "../stores/store.js";
import { CACHE_OPTION_NAMES, DEFAULTS } from "./defaults.js";
import { orDefault, plainObject, rejectUnknown } from "./validate.js";

/** The cache settings resolved: milliseconds and a count. */
export interface ResolvedCache {
  cache: { ttl: number; max: number } | undefined;
}

/**
 * The longest `cache.ttl`: it bounds how long a process may accept a
 * revoked session whose message it never received, so hours are refused.
 */
const MAX_TTL_MS = 60 * 60 * 1000;

/** Resolves `cache` for the given store (which must follow revocations). */
export function resolveCache(options: SessionGuardOptions, store: Store): ResolvedCache {
  const given = options.cache;
  if (given === undefined || given === false) return { cache: undefined };
  plainObject("cache", given);
  rejectUnknown("cache.", given, CACHE_OPTION_NAMES);
  const ttl = parseDuration("cache.ttl", orDefault(given.ttl, DEFAULTS.cache.ttl));
  if (ttl <= 0 || ttl > MAX_TTL_MS) {
    throw new TypeError(
      "session-guard: `cache.ttl` must be more than 0 and at most 1h (it bounds how long a lost revocation message goes unnoticed)",
    );
  }
  const max = orDefault(given.max, DEFAULTS.cache.max);
  if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) {
    throw new TypeError("session-guard: `cache.max` must be a whole number of sessions, at least 1");
  }
  if (typeof store.subscribeInvalidations !== "function") {
    throw new TypeError(
      "session-guard: `cache` needs a store that publishes revocations to every process (RedisStore); this store cannot, so a cached session could outlive its revocation",
    );
  }
  return { cache: { ttl, max } };
}
