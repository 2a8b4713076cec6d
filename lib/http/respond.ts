/**
 * Error responses: every error is `{ "error": code, "message": text }` with
 * the code's status, the `WWW-Authenticate` header of RFC 6750 on 401s
 * (`error="invalid_token"` only when an access token was presented and
 * rejected), `Retry-After` on 503s, and never a token. An app's `onError`
 * takes over the whole answer. Every refusal is published on the rejection
 * channel first, whoever answers it.
 *
 * @module
 */
import type { NextFunction, Request, Response } from "express";
import { publishRejection, type RejectionSource } from "../diagnostics.js";
import { isSessionError, type SessionError } from "../errors.js";
import type { ResolvedConfig } from "../options.js";
import type { Guard } from "./guard.js";

const REALM = 'Bearer realm="session-guard"';
/** Codes that mean "the access token you sent was rejected". */
const TOKEN_REJECTED = new Set(["token_invalid", "token_expired", "session_inactive"]);
/** Seconds a client should wait before retrying after a store failure. */
export const RETRY_AFTER_SECONDS = 1;

/** Answers a `SessionError`, through `onError` when the app gave one. */
export function sendError(config: ResolvedConfig, err: SessionError, req: Request, res: Response, next: NextFunction): void {
  if (config.onError) {
    config.onError(err, req, res, next);
    return;
  }
  if (res.headersSent) {
    next(err);
    return;
  }
  if (err.status === 401) res.setHeader("WWW-Authenticate", TOKEN_REJECTED.has(err.code) ? `${REALM}, error="invalid_token"` : REALM);
  else if (err.status === 400) res.setHeader("WWW-Authenticate", `${REALM}, error="invalid_request"`);
  else if (err.status === 503) res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
  res.setHeader("Cache-Control", "no-store");
  res.status(err.status).json({ error: err.code, message: err.message });
}

/**
 * Routes a failure: a `SessionError` is published as a refusal by `source`
 * of `guard` and answered, anything else goes to Express's error handling.
 */
export function fail(
  config: ResolvedConfig,
  err: unknown,
  req: Request,
  res: Response,
  next: NextFunction,
  guard: Guard,
  source: RejectionSource,
): void {
  if (!isSessionError(err)) {
    next(err);
    return;
  }
  publishRejection(err, guard, source);
  sendError(config, err, req, res, next);
}

/**
 * `fail` for promise callbacks: if answering throws (an app's `onError` that
 * throws, say), the error goes to Express instead of becoming an unhandled
 * rejection and a hanging request.
 */
export function failSafely(...args: Parameters<typeof fail>): void {
  try {
    fail(...args);
  } catch (thrown) {
    const next = args[4];
    next(thrown);
  }
}

/**
 * The guard's `errorHandler`: an Express error handler (four parameters, so
 * Express knows it as one) that answers a `SessionError` thrown in an app
 * route as the guard would, and passes anything else on.
 */
export function errorHandler(
  config: ResolvedConfig,
  guard: Guard,
): (err: unknown, req: Request, res: Response, next: NextFunction) => void {
  return function sessionErrorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
    if (!isSessionError(err)) {
      next(err);
      return;
    }
    failSafely(config, err, req, res, next, guard, "errorHandler");
  };
}
