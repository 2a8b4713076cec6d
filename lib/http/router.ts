/**
 * The ready routes: login, refresh, logout, global logout, the
 * session list and revoking one session, mounted wherever the app likes.
 *
 * @module
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { SessionError } from "../errors.js";
import type { AccessClaims } from "../tokens/access.js";
import type { SessionHandle } from "../sessions/handle.js";
import { isUsableUserId, MAX_USER_ID_BYTES } from "../sessions/limits.js";
import { toJson, toTokenSet, type TokenSet } from "./json.js";
import { readJsonBody } from "./body.js";
import { guardInternals, type Guard, type GuardInternals } from "./guard.js";
import { failSafely } from "./respond.js";
import { routeCookies } from "./route-cookies.js";
import { cookieValue, setTokenCookies, usesCookies, checkCsrf } from "./transport.js";

/**
 * What `authenticate` returns for valid credentials.
 *
 * @example
 * ```ts
 * const authenticate = async (req: Request): Promise<AuthenticateResult | null> => {
 *   const user = await users.check(req.body.email, req.body.password);
 *   return user ? { userId: user.id, claims: { role: user.role }, data: { plan: "pro" } } : null;
 * };
 * ```
 */
export interface AuthenticateResult {
  userId: string;
  /** Custom claims for the access tokens of this session. */
  claims?: Record<string, unknown>;
  /** App data kept with the session (`req.session.data`). */
  data?: unknown;
}

/**
 * The route names that can be renamed or switched off.
 *
 * @example
 * ```ts
 * const off: RouteName[] = ["logoutAll", "revokeSession"];
 * createSessionRouter(guard, { authenticate, routes: Object.fromEntries(off.map((name) => [name, false])) });
 * ```
 */
export type RouteName = "login" | "refresh" | "logout" | "logoutAll" | "sessions" | "revokeSession";

/**
 * Options of {@link createSessionRouter}.
 *
 * @example
 * ```ts
 * const options: SessionRouterOptions = {
 *   authenticate: async (req) => {
 *     const user = await users.check(req.body.email, req.body.password);
 *     return user ? { userId: user.id } : null;
 *   },
 *   routes: { login: "/signin", logoutAll: false },
 * };
 * app.use("/auth", createSessionRouter(guard, options));
 * ```
 */
export interface SessionRouterOptions {
  /** The app's credential check; `null` means the credentials are wrong. */
  authenticate: (req: Request) => Promise<AuthenticateResult | null> | AuthenticateResult | null;
  /** Rename (`"/signin"`) or switch off (`false`) single routes. */
  routes?: Partial<Record<RouteName, string | false>>;
}

const DEFAULT_ROUTES: Record<RouteName, string> = {
  login: "/login",
  refresh: "/refresh",
  logout: "/logout",
  logoutAll: "/logout-all",
  sessions: "/sessions",
  revokeSession: "/sessions/:id",
};

type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * Builds the session routes for a guard. The router parses its own JSON
 * bodies (`application/json`, 16 KB), so mount it before or after
 * `express.json()`.
 *
 * @example
 * ```ts
 * app.use("/auth", createSessionRouter(guard, {
 *   authenticate: async (req) => {
 *     const user = await users.check(req.body.email, req.body.password);
 *     return user ? { userId: user.id, claims: { role: user.role } } : null;
 *   },
 * }));
 * ```
 */
export function createSessionRouter(guard: Guard, options: SessionRouterOptions): Router {
  const inner = guardInternals(guard);
  if (!inner) throw new TypeError("session-guard: createSessionRouter(guard, options) needs the guard returned by sessionGuard()");
  if (typeof options !== "object" || options === null)
    throw new TypeError("session-guard: createSessionRouter needs options with `authenticate`");
  for (const key of Object.keys(options)) {
    if (key !== "authenticate" && key !== "routes") throw new TypeError(`session-guard: unknown router option \`${key}\``);
  }
  if (typeof options.authenticate !== "function")
    throw new TypeError("session-guard: the router option `authenticate` must be a function (req) => { userId } | null");
  const paths = resolveRoutes(options.routes);
  const { config } = inner;
  const handlers = routeHandlers(inner, options.authenticate, paths);

  const router = express.Router();
  const wrap = (name: RouteName) => {
    const handler = handlers[name];
    return (req: Request, res: Response, next: NextFunction) => {
      handler(req, res).catch((err: unknown) => failSafely(config, err, req, res, next, guard, name));
    };
  };
  if (paths.login) router.post(paths.login, wrap("login"));
  if (paths.refresh) router.post(paths.refresh, wrap("refresh"));
  if (paths.logout) router.post(paths.logout, wrap("logout"));
  if (paths.logoutAll) router.post(paths.logoutAll, wrap("logoutAll"));
  if (paths.sessions) router.get(paths.sessions, wrap("sessions"));
  if (paths.revokeSession) router.delete(paths.revokeSession, wrap("revokeSession"));
  // A path parameter that is not valid percent-encoding (`/sessions/%`) makes
  // Express throw a URIError before any route runs: answer it as JSON too.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (err instanceof URIError)
      failSafely(config, new SessionError("invalid_request", "The path is not valid percent-encoding."), req, res, next, guard, "router");
    else next(err);
  });
  return router;
}

function resolveRoutes(routes: SessionRouterOptions["routes"]): Record<RouteName, string | false> {
  const resolved = { ...DEFAULT_ROUTES } as Record<RouteName, string | false>;
  if (routes === undefined) return resolved;
  if (typeof routes !== "object" || routes === null) throw new TypeError("session-guard: the router option `routes` must be an object");
  for (const [name, path] of Object.entries(routes)) {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_ROUTES, name))
      throw new TypeError(`session-guard: unknown route \`routes.${name}\` (one of ${Object.keys(DEFAULT_ROUTES).join(", ")})`);
    if (path !== false && (typeof path !== "string" || !path.startsWith("/"))) {
      throw new TypeError(`session-guard: \`routes.${name}\` must be a path starting with "/" or false`);
    }
    if (name === "revokeSession" && path !== false && !path.includes(":id")) {
      throw new TypeError("session-guard: `routes.revokeSession` must contain `:id`");
    }
    resolved[name as RouteName] = path;
  }
  return resolved;
}

function routeHandlers(
  inner: GuardInternals,
  authenticate: SessionRouterOptions["authenticate"],
  paths: Record<RouteName, string | false>,
): Record<RouteName, Handler> {
  const { config, manager } = inner;
  const cookies = usesCookies(config);
  const mountPath = (req: Request) => req.baseUrl || "/";
  const { check: checkCookies, clear: clearCookies } = routeCookies(config, [paths.refresh, paths.logout, paths.logoutAll]);

  /** The guard's check, for the routes that need the caller's session. */
  async function currentSession(req: Request): Promise<SessionHandle> {
    const claims = inner.verifyRequest(req);
    if (claims === undefined) throw new SessionError("token_missing");
    return manager.check(claims);
  }

  /** Ends the session of the access token, or of the refresh token when the access token has expired or is absent. */
  async function endCurrentSession(req: Request): Promise<void> {
    const body = await readJsonBody(req);
    let claims: AccessClaims | undefined;
    let expired: SessionError | undefined;
    try {
      claims = inner.verifyRequest(req);
    } catch (err) {
      if (!(err instanceof SessionError && err.code === "token_expired")) throw err;
      expired = err;
    }
    if (claims !== undefined) {
      if (!(await manager.logout(claims.sid, claims.sub))) throw new SessionError("session_inactive");
      return;
    }
    const refreshToken = refreshTokenOf(req, body);
    if (refreshToken === undefined) throw expired ?? new SessionError("token_missing");
    await manager.logoutWithRefresh(refreshToken);
  }

  function sendTokens(req: Request, res: Response, tokens: TokenSet): void {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Pragma", "no-cache");
    if (!cookies) {
      res.status(200).json(tokens);
      return;
    }
    setTokenCookies(res, config, tokens, mountPath(req), config.now());
    if (config.transport === "both") res.status(200).json(tokens);
    else res.status(200).json({ token_type: tokens.token_type, expires_in: tokens.expires_in, session: tokens.session });
  }

  /** The refresh token from the body, or else from the refresh cookie (CSRF-checked). */
  function refreshTokenOf(req: Request, body: Record<string, unknown>): string | undefined {
    if (Object.prototype.hasOwnProperty.call(body, "refresh_token")) {
      const token = body.refresh_token;
      if (typeof token !== "string" || token === "")
        throw new SessionError("invalid_request", "`refresh_token` must be a non-empty string.");
      return token;
    }
    if (!cookies) return undefined;
    const token = cookieValue(req, config.cookie.refreshName, "refresh_token_invalid");
    if (token !== undefined) checkCsrf(req, config);
    return token === "" ? undefined : token;
  }

  return {
    async login(req, res) {
      const body = await readJsonBody(req);
      req.body = body;
      const rememberMe = optionalBoolean(body, "remember_me");
      const result = await authenticate(req);
      if (result === null || result === undefined || (result as unknown) === false) throw new SessionError("invalid_credentials");
      if (typeof result !== "object" || (typeof result.userId !== "string" && typeof result.userId !== "number")) {
        throw new TypeError("session-guard: `authenticate` must return { userId, claims?, data? } or null");
      }
      const userId = String(result.userId);
      // An id built from user input (an e-mail, say) must not turn odd input into a 500.
      if (!isUsableUserId(userId)) {
        throw new SessionError("invalid_request", `The user id must be well-formed unicode of 1 to ${MAX_USER_ID_BYTES} bytes.`);
      }
      const issued = await manager.create(userId, {
        rememberMe,
        claims: result.claims,
        data: result.data,
        ip: req.ip,
        userAgent: req.get("user-agent"),
      });
      sendTokens(req, res, toTokenSet(issued));
    },

    async refresh(req, res) {
      try {
        checkCookies(req);
      } catch (err) {
        // Two refresh cookies: this browser cannot refresh until they are gone.
        if (err instanceof SessionError && err.code === "invalid_request") clearCookies(req, res);
        throw err;
      }
      const body = await readJsonBody(req);
      const token = refreshTokenOf(req, body);
      if (token === undefined) throw new SessionError("invalid_request", "Send `refresh_token` in the body.");
      try {
        sendTokens(req, res, toTokenSet(await manager.refresh(token, { ip: req.ip, userAgent: req.get("user-agent") })));
      } catch (err) {
        if (err instanceof SessionError && err.code.startsWith("refresh_token")) clearCookies(req, res);
        throw err;
      }
    },

    async logout(req, res) {
      try {
        checkCookies(req);
        await endCurrentSession(req);
      } catch (err) {
        // Whatever went wrong, the client asked to be logged out: drop its
        // HttpOnly cookies (it cannot), unless the request may be a forgery.
        if (!(err instanceof SessionError && err.code === "csrf_failed")) clearCookies(req, res);
        throw err;
      }
      clearCookies(req, res);
      res.status(204).end();
    },

    async logoutAll(req, res) {
      checkCookies(req);
      const body = await readJsonBody(req);
      const keepCurrent = optionalBoolean(body, "keep_current");
      const session = await currentSession(req);
      const revoked = keepCurrent ? await session.revokeOthers() : await session.revokeAll();
      if (!keepCurrent) clearCookies(req, res);
      res.setHeader("Cache-Control", "no-store");
      res.status(200).json({ revoked });
    },

    async sessions(req, res) {
      const session = await currentSession(req);
      const list = await session.list();
      res.setHeader("Cache-Control", "no-store");
      res.status(200).json({ sessions: list.map(toJson) });
    },

    async revokeSession(req, res) {
      checkCookies(req);
      const session = await currentSession(req);
      const id = req.params.id;
      if (typeof id !== "string" || !(await manager.revoke(id, session.userId))) throw new SessionError("not_found");
      if (id === session.id) clearCookies(req, res);
      res.status(204).end();
    },
  };
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean {
  if (!Object.prototype.hasOwnProperty.call(body, name)) return false;
  const value = body[name];
  if (typeof value !== "boolean") throw new SessionError("invalid_request", `\`${name}\` must be true or false.`);
  return value;
}
