/**
 * Where tokens travel: the `Authorization: Bearer` header and/or HttpOnly
 * cookies, and the CSRF rule for cookie-authenticated unsafe requests.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
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
 * A `Cookie` header that carries the name twice is `invalid_request` (see
 * {@link refuseDuplicateCookies}).
 */
export function cookieValue(req: Request, name: string, errorCode: "token_invalid" | "refresh_token_invalid"): string | undefined {
  refuseDuplicate(req.headers.cookie, name);
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
 * How often `name` occurs as a cookie name in a raw `Cookie` header. The
 * parsers (cookie-parser, `cookie`) keep one value per name, so a second
 * cookie of the same name is only visible here.
 */
export function cookieCount(header: string | undefined, name: string): number {
  if (header === undefined) return 0;
  // indexOf over the raw header, no split: the guard reads this on every
  // cookie-authenticated request. A match counts when it is a whole pair's
  // name: after the header's start or a ";", before "=", or alone in its
  // pair (a nameless cookie whose value is the name: refused, to be safe).
  let count = 0;
  for (let at = header.indexOf(name); at !== -1; at = header.indexOf(name, at + name.length)) {
    let before = at - 1;
    while (before >= 0 && (header[before] === " " || header[before] === "\t")) before--;
    let after = at + name.length;
    while (header[after] === " " || header[after] === "\t") after++;
    const ends = after >= header.length || header[after] === "=" || header[after] === ";";
    if ((before < 0 || header[before] === ";") && ends) count++;
  }
  return count;
}

/** Throws `invalid_request` when the `Cookie` header carries `name` more than once. */
function refuseDuplicate(header: string | undefined, name: string): void {
  if (cookieCount(header, name) > 1) {
    throw new SessionError(
      "invalid_request",
      `The request carries more than one \`${name}\` cookie (another site may have set one); log out to clear them.`,
    );
  }
}

/**
 * Refuses a request that carries two cookies of one session-cookie name
 * (`invalid_request`). A sibling subdomain can set a second refresh or
 * access cookie with `Domain=<parent>` and a longer `Path`, which the
 * browser sends first ("cookie tossing"): reading either value could run
 * the victim's requests in the attacker's session.
 */
export function refuseDuplicateCookies(req: Request, config: ResolvedConfig): void {
  refuseDuplicate(req.headers.cookie, config.cookie.accessName);
  refuseDuplicate(req.headers.cookie, config.cookie.refreshName);
}

/** True when the `Cookie` header carries either session cookie more than once. */
export function hasDuplicateCookies(req: Request, config: ResolvedConfig): boolean {
  const header = req.headers.cookie;
  return cookieCount(header, config.cookie.accessName) > 1 || cookieCount(header, config.cookie.refreshName) > 1;
}

/** True when the `Cookie` header carries a session cookie (an ambient credential a forged request would ride on). */
export function carriesSessionCookie(req: Request, config: ResolvedConfig): boolean {
  const header = req.headers.cookie;
  return cookieCount(header, config.cookie.accessName) > 0 || cookieCount(header, config.cookie.refreshName) > 0;
}

/**
 * True when a request passes the CSRF rule: it comes from a trusted
 * `Origin` or carries the CSRF header (a custom header cannot be sent
 * cross-site without a CORS preflight).
 */
export function passesCsrf(req: Request, config: ResolvedConfig): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && config.trustedOrigins.has(origin)) return true;
  return req.headers[config.csrfHeader] !== undefined;
}

/**
 * The CSRF rule: an unsafe request authenticated by a cookie must come from
 * a trusted `Origin` or carry the CSRF header.
 */
export function checkCsrf(req: Request, config: ResolvedConfig): void {
  if (!UNSAFE_METHODS.has(req.method)) return;
  if (!passesCsrf(req, config)) throw new SessionError("csrf_failed");
}

/**
 * True when a request may have cookies set or cleared in its answer: it
 * passes the CSRF rule, or (with `"both"`) carries an `Authorization`
 * header, which a cross-site page cannot send without a CORS preflight
 * either. A forged request (a cross-site form, which arrives without the
 * `SameSite` cookies and any body but JSON) must never clear the
 * victim's cookies.
 */
export function mayChangeCookies(req: Request, config: ResolvedConfig): boolean {
  return passesCsrf(req, config) || (config.transport === "both" && req.headers.authorization !== undefined);
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

/** Clears both cookies (logout). */
export function clearTokenCookies(res: Response, config: ResolvedConfig, refreshPath: string): void {
  const { cookie } = config;
  const base = { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, domain: cookie.domain } as const;
  res.clearCookie(cookie.accessName, { ...base, path: "/" });
  res.clearCookie(cookie.refreshName, { ...base, path: refreshPath });
}

/**
 * Clears session cookies another site may have tossed in: each name at
 * every path of `paths` and their parent paths, host-only and for the
 * configured domain and every parent domain of `hostname` (a browser
 * ignores a deletion it would not accept as a cookie, such as one for a
 * public suffix). A `__Host-` cookie cannot be tossed, so it needs none.
 * The cookies {@link clearTokenCookies} clears are left to it.
 */
export function clearTossedCookies(
  res: Response,
  config: ResolvedConfig,
  hostname: string,
  paths: readonly string[],
  refreshPath: string,
): void {
  const { cookie } = config;
  const domains: Array<string | undefined> = [undefined, ...parentDomains(hostname)];
  if (cookie.domain !== undefined && !domains.includes(cookie.domain.toLowerCase())) domains.push(cookie.domain.toLowerCase());
  const allPaths = new Set<string>(["/"]);
  for (const path of paths) for (const prefix of pathPrefixes(path)) allPaths.add(prefix);
  const base = { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite } as const;
  const ownDomain = cookie.domain?.toLowerCase();
  for (const [name, ownPath] of [
    [cookie.accessName, "/"],
    [cookie.refreshName, refreshPath],
  ] as const) {
    if (name.startsWith("__Host-")) continue;
    for (const domain of domains) {
      for (const path of allPaths) {
        if (domain === ownDomain && path === ownPath) continue;
        res.clearCookie(name, { ...base, domain, path });
      }
    }
  }
}

/** `a.b.example.com` → `b.example.com`, `example.com`; none for an IP address or a single label. */
function parentDomains(hostname: string): string[] {
  const host = hostname.toLowerCase();
  if (host === "" || isIP(host) !== 0 || !/^[a-z0-9.-]+$/.test(host)) return [];
  const labels = host.split(".").filter((label) => label !== "");
  const out: string[] = [];
  for (let i = 0; i + 2 <= labels.length; i++) out.push(labels.slice(i).join("."));
  return out;
}

/** `/a/b/c` → `/a`, `/a/b`, `/a/b/c`. */
function pathPrefixes(path: string): string[] {
  const segments = path.split("/").filter((segment) => segment !== "");
  return segments.map((_, i) => "/" + segments.slice(0, i + 1).join("/"));
}
