/**
 * The transport group: where tokens travel (header, cookies or both), the
 * cookies' names and attributes, and the CSRF rule's trusted origins and
 * header.
 *
 * @module
 */
import { describe } from "../duration.js";
import type { CookieOptions, SessionGuardOptions } from "../options.js";
import { COOKIE_OPTION_NAMES, DEFAULTS } from "./defaults.js";
import { boolean, orDefault, plainObject, rejectUnknown } from "./validate.js";

/** Cookie settings resolved: final names and attributes. */
export interface ResolvedCookies {
  accessName: string;
  refreshName: string;
  secure: boolean;
  sameSite: "strict" | "lax" | "none";
  domain: string | undefined;
}

/** The transport settings resolved. */
export interface ResolvedTransport {
  transport: "header" | "cookie" | "both";
  cookie: ResolvedCookies;
  trustedOrigins: ReadonlySet<string>;
  /** Lower case. */
  csrfHeader: string;
}

/** An HTTP token (RFC 9110): cookie names and header names alike. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Resolves `transport`, `cookie`, `trustedOrigins` and `csrfHeader`. */
export function resolveTransport(options: SessionGuardOptions): ResolvedTransport {
  const transport = orDefault(options.transport, DEFAULTS.transport);
  if (transport !== "header" && transport !== "cookie" && transport !== "both") {
    throw new TypeError(`session-guard: \`transport\` must be "header", "cookie" or "both" (got ${describe(transport)})`);
  }
  const trustedOrigins = orDefault(options.trustedOrigins, DEFAULTS.trustedOrigins);
  if (!Array.isArray(trustedOrigins))
    throw new TypeError('session-guard: `trustedOrigins` must be an array of origins like "https://app.example"');
  for (const origin of trustedOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = typeof origin === "string" ? new URL(origin) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw new TypeError(
        `session-guard: \`trustedOrigins\` entries must be origins like "https://app.example" with no path or trailing slash (got ${describe(origin)})`,
      );
    }
  }
  const csrfHeader = orDefault(options.csrfHeader, DEFAULTS.csrfHeader);
  if (typeof csrfHeader !== "string" || !TOKEN.test(csrfHeader))
    throw new TypeError("session-guard: `csrfHeader` must be an HTTP header name");
  return {
    transport,
    cookie: resolveCookies(options.cookie),
    trustedOrigins: new Set(trustedOrigins),
    csrfHeader: csrfHeader.toLowerCase(),
  };
}

function resolveCookies(value: CookieOptions | undefined): ResolvedCookies {
  const cookie = plainObject("cookie", orDefault(value, {})) as CookieOptions;
  rejectUnknown("cookie.", cookie, COOKIE_OPTION_NAMES);
  const secure = boolean("cookie.secure", orDefault(cookie.secure, DEFAULTS.cookie.secure));
  const sameSite = orDefault(cookie.sameSite, DEFAULTS.cookie.sameSite);
  if (sameSite !== "strict" && sameSite !== "lax" && sameSite !== "none")
    throw new TypeError('session-guard: `cookie.sameSite` must be "strict", "lax" or "none"');
  if (sameSite === "none" && !secure)
    throw new TypeError('session-guard: `cookie.sameSite: "none"` needs `cookie.secure: true` (browsers refuse it otherwise)');
  if (cookie.domain !== undefined && (typeof cookie.domain !== "string" || !/^[A-Za-z0-9.-]+$/.test(cookie.domain))) {
    throw new TypeError("session-guard: `cookie.domain` must be a domain name");
  }
  const names = {
    accessName: orDefault(cookie.accessName, DEFAULTS.cookie.accessName),
    refreshName: orDefault(cookie.refreshName, DEFAULTS.cookie.refreshName),
  };
  for (const [name, v] of Object.entries(names)) {
    if (typeof v !== "string" || !TOKEN.test(v) || v.startsWith("__")) {
      throw new TypeError(`session-guard: \`cookie.${name}\` must be a cookie name without a "__" prefix (the prefix is added for you)`);
    }
  }
  if (names.accessName === names.refreshName)
    throw new TypeError("session-guard: `cookie.accessName` and `cookie.refreshName` must differ");
  // Browsers refuse prefixed cookies without Secure; __Host- also forbids a Domain.
  const accessPrefix = !secure ? "" : cookie.domain === undefined ? "__Host-" : "__Secure-";
  const refreshPrefix = secure ? "__Secure-" : "";
  return Object.freeze({
    accessName: accessPrefix + names.accessName,
    refreshName: refreshPrefix + names.refreshName,
    secure,
    sameSite,
    domain: cookie.domain,
  });
}
