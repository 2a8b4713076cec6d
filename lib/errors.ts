/**
 * Runtime failures: one class, a stable `code` from the table in the README, the
 * HTTP `status` that goes with it. Misuse at construction throws `TypeError`
 * instead. No message ever contains a token.
 *
 * @module
 */

/**
 * Every error code session-guard answers with, and its HTTP status.
 *
 * @example
 * ```ts
 * ERROR_STATUS.store_unavailable; // 503
 * const codes = Object.keys(ERROR_STATUS); // for an API schema
 * ```
 */
export const ERROR_STATUS = {
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  session_inactive: 401,
  refresh_token_invalid: 401,
  refresh_token_reused: 401,
  invalid_credentials: 401,
  invalid_request: 400,
  csrf_failed: 403,
  not_found: 404,
  store_unavailable: 503,
} as const;

/**
 * A code callers can `switch` on.
 *
 * @example
 * ```ts
 * function explain(code: SessionErrorCode): string {
 *   switch (code) {
 *     case "token_expired": return "refresh and retry";
 *     case "store_unavailable": return "retry after Retry-After";
 *     default: return "log in again";
 *   }
 * }
 * ```
 */
export type SessionErrorCode = keyof typeof ERROR_STATUS;

const DEFAULT_MESSAGES: Record<SessionErrorCode, string> = {
  token_missing: "An access token is required.",
  token_invalid: "The access token is invalid.",
  token_expired: "The access token has expired; refresh it.",
  session_inactive: "The session has ended; log in again.",
  refresh_token_invalid: "The refresh token is invalid or its session has ended.",
  refresh_token_reused: "The refresh token was already used; the session has been revoked.",
  invalid_credentials: "The credentials are not valid.",
  invalid_request: "The request is malformed.",
  csrf_failed: "Cross-site request refused: send the CSRF header or come from a trusted origin.",
  not_found: "No such session.",
  store_unavailable: "The session store is unavailable; try again shortly.",
};

/**
 * The one error type of session-guard's runtime. Every route and the guard
 * answer it as `{ "error": code, "message": message }` with `status`.
 *
 * @example
 * ```ts
 * try { await guard.sessions.refresh(token); }
 * catch (err) { if (err instanceof SessionError && err.code === "refresh_token_reused") alertUser(); }
 * ```
 */
export class SessionError extends Error {
  /** Stable machine-readable code. */
  readonly code: SessionErrorCode;
  /** HTTP status that goes with `code`. */
  readonly status: number;

  constructor(code: SessionErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? DEFAULT_MESSAGES[code], options);
    this.name = "SessionError";
    this.code = code;
    this.status = ERROR_STATUS[code];
  }
}

/**
 * True for a `SessionError`, also one made by another copy of the package
 * (its ESM and CommonJS builds loaded side by side): checks the shape.
 *
 * @example
 * ```ts
 * app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
 *   if (isSessionError(err)) res.status(err.status).json({ problem: err.code });
 *   else next(err);
 * });
 * ```
 */
export function isSessionError(err: unknown): err is SessionError {
  if (err instanceof SessionError) return true;
  if (!(err instanceof Error) || err.name !== "SessionError") return false;
  const { code, status } = err as Partial<SessionError>;
  return typeof code === "string" && Object.prototype.hasOwnProperty.call(ERROR_STATUS, code) && ERROR_STATUS[code] === status;
}
