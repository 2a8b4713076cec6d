/**
 * The two cookie rules of the routes that set or clear session cookies:
 * check a request before anything is read, and clear cookies only for a
 * request that may change them (so a forged one cannot log the browser out).
 *
 * @module
 */
import type { Request, Response } from "express";
import { SessionError } from "../errors.js";
import type { ResolvedConfig } from "../options.js";
import {
  carriesSessionCookie,
  clearTokenCookies,
  clearTossedCookies,
  hasDuplicateCookies,
  mayChangeCookies,
  refuseDuplicateCookies,
  usesCookies,
} from "./transport.js";

export interface RouteCookies {
  /**
   * First thing on a route that sets or clears cookies: a request carrying
   * a session cookie must pass the CSRF rule before anything is read (a
   * form from a sibling subdomain is same-site, so SameSite lets its
   * cookies through), then carry each session cookie at most once.
   */
  check(req: Request): void;
  /**
   * Clears the session cookies, for a request that may change them only: a
   * forged one (which a cross-site page sends without the SameSite cookies,
   * so it fails before any check of them) must not log the browser out.
   * When the request carried a session cookie twice, the tossed copies go too.
   */
  clear(req: Request, res: Response): void;
}

/** The rules for a router whose cookie routes (refresh, logout, logout-all) are at `routePaths` below its mount path. */
export function routeCookies(config: ResolvedConfig, routePaths: Array<string | false>): RouteCookies {
  const cookies = usesCookies(config);
  // Where a tossed cookie would matter: the paths that read the refresh cookie or clear cookies.
  const cookieRoutes = routePaths.filter((path): path is string => path !== false);
  const mountPath = (req: Request) => req.baseUrl || "/";
  return {
    check(req) {
      if (!cookies) return;
      if (carriesSessionCookie(req, config) && !mayChangeCookies(req, config)) throw new SessionError("csrf_failed");
      refuseDuplicateCookies(req, config);
    },
    clear(req, res) {
      if (!cookies || !mayChangeCookies(req, config)) return;
      const mount = mountPath(req);
      clearTokenCookies(res, config, mount);
      if (hasDuplicateCookies(req, config)) {
        const paths = [mount, ...cookieRoutes.map((path) => (mount === "/" ? path : mount + path))];
        clearTossedCookies(res, config, req.hostname ?? "", paths, mount);
      }
    },
  };
}
