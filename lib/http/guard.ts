/**
 * The guard: the Express middleware that requires a live session. The
 * factory did all parsing; per request this only finds the token, verifies
 * the JWT (no store call for a bad one), and makes the one store round trip.
 *
 * @module
 */
import type { EventEmitter } from "node:events";
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from "express";
import type { RejectionSource } from "../diagnostics.js";
import { SessionError } from "../errors.js";
import type { ResolvedConfig, SessionEvents } from "../options.js";
import type { SessionCacheStats } from "../sessions/cache.js";
import type { SessionEngine } from "../sessions/engine.js";
import type { SessionHandle } from "../sessions/handle.js";
import { SessionManager } from "../sessions/manager.js";
import type { AccessClaims } from "../tokens/access.js";
import { errorHandler, fail, failSafely } from "./respond.js";
import { checkCsrf, findAccessToken } from "./transport.js";

/**
 * A listener of one guard event.
 *
 * @example
 * ```ts
 * const onReuse: SessionEventListener<"reuse_detected"> = ({ sessionId, userId }) => audit.warn({ sessionId, userId });
 * guard.on("reuse_detected", onReuse);
 * ```
 */
export type SessionEventListener<E extends keyof SessionEvents> = (payload: SessionEvents[E]) => void;

/**
 * The guard: an Express middleware that requires a live session, with the session API attached.
 *
 * @example
 * ```ts
 * app.get("/me", guard, (req, res) => res.json({ user: req.session.userId }));
 * app.get("/feed", guard.optional, (req, res) => res.json({ personal: req.session !== undefined }));
 * app.use(guard.errorHandler);
 * ```
 */
export interface Guard extends RequestHandler {
  /** Same check, but a request without a token passes with no session. */
  readonly optional: RequestHandler;
  /** The programmatic session API. */
  readonly sessions: SessionManager;
  /**
   * An Express error handler to mount after the app's routes: it answers a
   * `SessionError` thrown in a route (say, `req.session.revokeOthers()`
   * while the store is down) exactly as the guard answers its own (JSON,
   * status, `WWW-Authenticate`, `Retry-After`, the guard's `onError`), and
   * passes any other error on.
   *
   * @example
   * ```ts
   * app.post("/password", guard, async (req, res) => {
   *   await req.session.revokeOthers(); // Express 5 passes a rejection on by itself
   *   res.sendStatus(204);
   * });
   * app.use(guard.errorHandler);
   * ```
   */
  readonly errorHandler: ErrorRequestHandler;
  /** Subscribes to an event. */
  on<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): Guard;
  /** Unsubscribes. */
  off<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): Guard;
  /**
   * The local session cache's counters (sessions held, hits, misses, whether
   * revocations are followed), or `undefined` without the `cache` option.
   */
  readonly cache: SessionCacheStats | undefined;
  /** Stops timers and listeners the guard owns, unsubscribes the cache, and closes clients the library created. */
  close(): Promise<void>;
}

/** What the router needs of a guard, kept off its public surface. */
export interface GuardInternals {
  config: ResolvedConfig;
  /** The session engine (the public `sessions` is a facade of it). */
  manager: SessionEngine;
  /** The sync part of the check: verified claims, `undefined` when no token was sent. Throws `SessionError`. */
  verifyRequest(req: Request): AccessClaims | undefined;
}

/**
 * Where a guard keeps its internals: a registered symbol, so that a guard
 * made by one copy of the package (say its ESM build) is still known to the
 * router of another (its CommonJS build).
 */
const INTERNALS = Symbol.for("session-guard.internals");

/** The internals of a guard made by `sessionGuard()`, or `undefined`. */
export function guardInternals(guard: unknown): GuardInternals | undefined {
  return typeof guard === "function" ? (guard as unknown as { [INTERNALS]?: GuardInternals })[INTERNALS] : undefined;
}

/** Builds the guard middleware around a resolved config and manager. */
export function createGuard(config: ResolvedConfig, manager: SessionEngine, events: EventEmitter): Guard {
  const property = config.requestProperty;
  const allowOnStoreError = config.onStoreError === "allow";

  function verifyRequest(req: Request): AccessClaims | undefined {
    const found = findAccessToken(req, config);
    if (found === undefined) return undefined;
    if (found.fromCookie) checkCsrf(req, config);
    return manager.verifyToken(found.token);
  }

  function attach(req: Request, res: Response, next: NextFunction, claims: AccessClaims, source: RejectionSource): void {
    const cached = manager.cached(claims);
    if (cached !== undefined) {
      (req as unknown as Record<string, unknown>)[property] = cached;
      next();
      return;
    }
    manager.check(claims).then(
      (handle: SessionHandle) => {
        (req as unknown as Record<string, unknown>)[property] = handle;
        next();
      },
      (err: unknown) => {
        if (allowOnStoreError && err instanceof SessionError && err.code === "store_unavailable") {
          (req as unknown as Record<string, unknown>)[property] = manager.unchecked(claims);
          next();
          return;
        }
        failSafely(config, err, req, res, next, guard, source);
      },
    );
  }

  // Both middlewares name `guard`, defined below, only when a request comes.
  function makeMiddleware(optional: boolean): RequestHandler {
    const source: RejectionSource = optional ? "guard.optional" : "guard";
    return function sessionGuardMiddleware(req: Request, res: Response, next: NextFunction): void {
      let claims: AccessClaims | undefined;
      try {
        claims = verifyRequest(req);
      } catch (err) {
        fail(config, err, req, res, next, guard, source);
        return;
      }
      if (claims === undefined) {
        if (optional) next();
        else fail(config, new SessionError("token_missing"), req, res, next, guard, source);
        return;
      }
      attach(req, res, next, claims, source);
    };
  }

  const guard = makeMiddleware(false) as Guard;
  Object.defineProperties(guard, {
    optional: { value: makeMiddleware(true), enumerable: true },
    sessions: { value: new SessionManager(manager), enumerable: true },
    errorHandler: { value: errorHandler(config, guard), enumerable: true },
    cache: { value: manager.cache?.stats, enumerable: true },
    on: {
      value: (event: string, listener: (payload: unknown) => void) => {
        events.on(event, listener);
        return guard;
      },
      enumerable: true,
    },
    off: {
      value: (event: string, listener: (payload: unknown) => void) => {
        events.off(event, listener);
        return guard;
      },
      enumerable: true,
    },
    close: {
      value: async () => {
        events.removeAllListeners();
        await manager.close();
        await config.store.close();
      },
      enumerable: true,
    },
  });
  manager.guard = guard;
  const inner: GuardInternals = { config, manager, verifyRequest };
  Object.defineProperty(guard, INTERNALS, { value: inner });
  return guard;
}
