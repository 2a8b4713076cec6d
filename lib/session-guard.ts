/**
 * `sessionGuard(options)`: resolves the options once and returns the guard.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { optionsFromEnv, redisUrlFromEnv, storeFromUrl } from "./env.js";
import { createGuard, type Guard } from "./http/guard.js";
import { resolveOptions } from "./config/resolve.js";
import type { SessionGuardOptions } from "./options.js";
import { SessionEngine } from "./sessions/engine.js";

/**
 * `sessionGuard` with its `fromEnv` companion.
 *
 * @example
 * ```ts
 * const guard = sessionGuard.fromEnv(); // SESSION_SECRET, REDIS_URL, SESSION_IDLE_TIMEOUT, …
 * const strict = sessionGuard.fromEnv(process.env, { maxSessionsPerUser: 1 });
 * ```
 */
export interface SessionGuardFactory {
  (options: SessionGuardOptions): Guard;
  /**
   * Builds the guard from environment variables (`SESSION_SECRET`,
   * `SESSION_ACCESS_TOKEN_TTL`, `SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_LIFETIME`,
   * `SESSION_REMEMBER_ME_IDLE_TIMEOUT`, `SESSION_REMEMBER_ME_LIFETIME`,
   * `SESSION_ALLOW_FOREVER`, `SESSION_MAX_PER_USER`, `SESSION_CACHE_TTL`, `SESSION_CACHE_MAX`,
   * `REDIS_URL`); `overrides` win.
   */
  fromEnv(env?: Record<string, string | undefined>, overrides?: SessionGuardOptions): Guard;
}

/**
 * Creates the guard: an Express middleware that requires a live session,
 * with the session API attached.
 *
 * @example
 * ```ts
 * const guard = sessionGuard({
 *   store: new RedisStore({ client: new Redis(process.env.REDIS_URL) }),
 *   secret: process.env.SESSION_SECRET,
 * });
 * app.get("/me", guard, (req, res) => res.json({ user: req.session.userId }));
 * ```
 */
export const sessionGuard: SessionGuardFactory = Object.assign(
  function sessionGuard(options: SessionGuardOptions): Guard {
    // `app.use(sessionGuard)` calls the factory as a middleware: (req, res, next).
    // eslint-disable-next-line prefer-rest-params
    if (arguments.length === 3 && typeof arguments[2] === "function") {
      throw new TypeError("session-guard: `sessionGuard` is a factory: use `app.use(sessionGuard({ ... }))`, not `app.use(sessionGuard)`");
    }
    const config = resolveOptions(options);
    const events = new EventEmitter();
    return createGuard(config, new SessionEngine(config, events), events);
  },
  {
    fromEnv(env: Record<string, string | undefined> = process.env, overrides: SessionGuardOptions = {}): Guard {
      const options = optionsFromEnv(env, overrides);
      const url = redisUrlFromEnv(env, overrides);
      if (url === undefined) return sessionGuard(options);
      // The store's client connects at once: close it if the options turn out wrong.
      const store = storeFromUrl(url);
      try {
        return sessionGuard({ ...options, store });
      } catch (err) {
        void store.close();
        throw err;
      }
    },
  },
);
