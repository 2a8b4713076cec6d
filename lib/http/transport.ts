/**
 * Where tokens travel: the `Authorization: Bearer` header and/or HttpOnly
 * cookies, and the CSRF rule for cookie-authenticated unsafe requests.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { parse as parseCookieHeader } from "cookie";
import type { Request, Response } from "express";
import { SessionError } from "../errors.js";
import type { ResolvedConfig } from "../options.js";
import type { TokenSet } from "./json.js";

/** An access token found on a request, and whether a cookie carried it. */
export interface FoundToken {
  token: string;
  fromCookie: boolean;
}

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Browsers keep cookies at most 400 days; a forever session's cookie is renewed on each refresh. */
const MAX_COOKIE_AGE = 400 * 24 * 3600 * 1000;

/**
 * The access token of a request, or `undefined` when none was sent (a header
 * of another scheme counts as none). Throws `invalid_request` for a Bearer
 * header without exactly one token or a header and cookie that disagree,
 * and `token_invalid` for a cookie or extractor value that is not a string.
 */
export function findAccessToken(req: Request, config: ResolvedConfig): FoundToken | undefined {
  if (config.getToken) {
    const token: unknown = config.getToken(req);
    if (token === undefined || token === "") return undefined;
    if (typeof token !== "string") throw new SessionError("token_invalid");
    return { token, fromCookie: false };
  }
  const fromHeader = config.transport === "cookie" ? undefined : bearerToken(req.headers.authorization);
  const fromCookie = config.transport === "header" ? undefined : cookieValue(req, config.cookie.accessName, "token_invalid");
  if (fromHeader !== undefined) {
    if (fromCookie !== undefined && fromCookie !== "" && !sameToken(fromCookie, fromHeader)) {
      throw new SessionError("invalid_request", "The Authorization header and the session cookie carry different tokens.");
    }
    return { token: fromHeader, fromCookie: false };
  }
  return fromCookie === undefined || fromCookie === "" ? undefined : { token: fromCookie, fromCookie: true };
}

/** Constant-time equality of two token strings. */
function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token of an `Authorization: Bearer` header (scheme matched without regard to case). */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.length !== 6 || scheme.toLowerCase() !== "bearer") return undefined;
  const token = space === -1 ? "" : header.slice(space + 1).trim();
  if (token === "" || /\s/.test(token)) {
    throw new SessionError("invalid_request", "Authorization: Bearer must carry exactly one token.");
  }
  return token;
}

/**
 * A cookie's value from `req.cookies` (cookie-parser) or, without a cookie
 * parser, from the `Cookie` header. A value that is not a string
 * (cookie-parser's `j:` JSON cookies) is a malformed token: `errorCode`.
 */
export function cookieValue(req: Request, name: string, errorCode: "token_invalid" | "refresh_token_invalid"): string | undefined {
  // Two cookies of one name: one was set by someone else, such as a sibling
  // subdomain with `Domain=<parent>` (cookie tossing). Browsers send both
  // and parsers keep only one, so neither can be trusted.
  if (cookieCount(req.headers.cookie, name) > 1) {
    throw new SessionError("invalid_request", `The request carries more than one \`${name}\` cookie; log out to clear them.`);
  }
  const parsed = (req as { cookies?: unknown }).cookies;
  let value: unknown;
  if (typeof parsed === "object" && parsed !== null) {
    value = Object.prototype.hasOwnProperty.call(parsed, name) ? (parsed as Record<string, unknown>)[name] : undefined;
  } else {
    const header = req.headers.cookie;
    value = header === undefined ? undefined : parseCookieHeader(header)[name];
  }
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new SessionError(errorCode);
  return value;
}

/**
 * The CSRF rule: an unsafe request authenticated by a cookie must come from
 * a trusted `Origin` or carry the CSRF header (a custom header cannot be
 * sent cross-site without a CORS preflight).
 */
export function checkCsrf(req: Request, config: ResolvedConfig): void {
  if (!passesCsrf(req, config)) throw new SessionError("csrf_failed");
}

/** Whether the request may act on the browser's cookies: a safe method, a trusted `Origin`, or the CSRF header. */
export function passesCsrf(req: Request, config: ResolvedConfig): boolean {
  if (!UNSAFE_METHODS.has(req.method)) return true;
  const origin = req.headers.origin;
  if (origin !== undefined && config.trustedOrigins.has(origin)) return true;
  return req.headers[config.csrfHeader] !== undefined;
}

/** How many cookies called `name` a `Cookie` header carries (no allocation: the guard reads it on every request). */
export function cookieCount(header: string | undefined, name: string): number {
  if (header === undefined) return 0;
  let count = 0;
  for (let at = header.indexOf(name); at !== -1; at = header.indexOf(name, at + name.length)) {
    let before = at - 1;
    while (before >= 0 && (header[before] === " " || header[before] === "\t")) before--;
    let after = at + name.length;
    while (header[after] === " " || header[after] === "\t") after++;
    if ((before < 0 || header[before] === ";") && header[after] === "=") count++;
  }
  return count;
}

/** Whether either session cookie arrived more than once. */
export function hasDuplicateCookie(req: Request, config: ResolvedConfig): boolean {
  const header = req.headers.cookie;
  return cookieCount(header, config.cookie.accessName) > 1 || cookieCount(header, config.cookie.refreshName) > 1;
}

/** True when tokens travel in cookies. */
export function usesCookies(config: ResolvedConfig): boolean {
  return config.transport !== "header";
}

/**
 * Sets the access and refresh cookies of a token set. `refreshPath`: the
 * router's mount path. The refresh cookie lives until the session's absolute
 * deadline, not its idle one: guarded requests keep sliding the idle
 * deadline without renewing the cookie, and the server enforces it anyway.
 */
export function setTokenCookies(res: Response, config: ResolvedConfig, tokens: TokenSet, refreshPath: string, now: number): void {
  const { cookie } = config;
  const base = { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, domain: cookie.domain } as const;
  res.cookie(cookie.accessName, tokens.access_token, { ...base, path: "/", maxAge: tokens.expires_in * 1000 });
  const lifetime = (tokens.session.remember_me ? config.remembered : config.standard).absoluteLifetime;
  const deadline = lifetime === null ? now + MAX_COOKIE_AGE : Date.parse(tokens.session.created_at) + lifetime;
  res.cookie(cookie.refreshName, tokens.refresh_token, {
    ...base,
    path: refreshPath,
    maxAge: Math.max(0, Math.min(deadline - now, MAX_COOKIE_AGE)),
  });
}

/**
 * Clears both cookies (logout). With `req` and a duplicate session cookie
 * on it, also sends deletions for where a tossed copy may live: the
 * request's own path and each parent domain of its host (a browser ignores
 * those it did not store, and refuses a public suffix).
 */
export function clearTokenCookies(res: Response, config: ResolvedConfig, refreshPath: string, req?: Request): void {
  const { cookie } = config;
  const base = { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, domain: cookie.domain } as const;
  res.clearCookie(cookie.accessName, { ...base, path: "/" });
  res.clearCookie(cookie.refreshName, { ...base, path: refreshPath });
  if (req === undefined || !hasDuplicateCookie(req, config)) return;
  const paths = [...new Set(["/", refreshPath, req.baseUrl + req.path])];
  const labels = req.hostname.split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    const domain = labels.slice(i).join(".");
    for (const path of paths) {
      res.clearCookie(cookie.accessName, { ...base, domain, path });
      res.clearCookie(cookie.refreshName, { ...base, domain, path });
    }
  }
}
