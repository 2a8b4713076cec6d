/**
 * What a session can hold: user ids, claims and data are limited in UTF-8
 * bytes (what Redis and the JWT actually carry), and a login whose access
 * token the guard, Node or a browser would refuse is refused at login.
 *
 * @module
 */
import { SessionError } from "../errors.js";
import { MAX_ACCESS_TOKEN_LENGTH } from "../tokens/access.js";

/** Longest user id accepted, in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 2048;
/** Longest custom claims, in UTF-8 bytes of JSON. */
export const MAX_CLAIMS_BYTES = 2048;
/** Longest app data, in UTF-8 bytes of JSON. */
export const MAX_DATA_BYTES = 16_384;
/**
 * Browsers keep a cookie only while its name and value fit in 4,096 bytes
 * (RFC 6265 §6.1 asks for at least that; Chromium and Firefox stop there).
 */
const MAX_COOKIE_BYTES = 4096;
/** The longest recorded IP address and user agent, in characters. */
export const MAX_IP_LENGTH = 64;
export const MAX_USER_AGENT_LENGTH = 512;

/** Session ids are 18 random bytes in base64url. */
export const SESSION_ID = /^[A-Za-z0-9_-]{24}$/;

/** A lone UTF-16 surrogate: UTF-8 encodes it as U+FFFD, so two such ids could share keys. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for a user id the stores can key: non-empty, well-formed unicode, at most 2 KB of UTF-8. */
export function isUsableUserId(userId: unknown): userId is string {
  return (
    typeof userId === "string" && userId !== "" && Buffer.byteLength(userId, "utf8") <= MAX_USER_ID_BYTES && !LONE_SURROGATE.test(userId)
  );
}

/** Throws the programming error for an id no store can key. */
export function checkUserId(userId: unknown): asserts userId is string {
  if (!isUsableUserId(userId)) {
    throw new TypeError(`session-guard: a user id must be a non-empty, well-formed unicode string of at most ${MAX_USER_ID_BYTES} bytes`);
  }
}

/**
 * The JSON text of claims or data, or `invalid_request` when it is not JSON
 * or longer than `maxBytes`: such values may come from user input, so they
 * are a 400 at login, never a 500.
 */
export function payloadJson(name: "claims" | "data", value: unknown, maxBytes: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new SessionError("invalid_request", `The session's ${name} must be JSON-serialisable.`);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw new SessionError(
      "invalid_request",
      `The session's ${name} are ${bytes} bytes of JSON; at most ${maxBytes} are kept with a session.`,
    );
  }
  return text;
}

/**
 * Refuses custom claims named like a member of `Object.prototype`
 * (`toString`, `constructor`, `__proto__`, …): jsonwebtoken looks every
 * claim name up in a plain object of its own when signing, so such a name
 * finds the inherited member and signing throws a `TypeError`. Claims may
 * come from user input, so this is a 400 at login, never a 500.
 */
export function checkClaimNames(claims: object): void {
  for (const name of Object.keys(claims)) {
    if (name in Object.prototype) {
      throw new SessionError(
        "invalid_request",
        `A custom claim cannot be named ${JSON.stringify(name)}, the name of a member every object has.`,
      );
    }
  }
}

/**
 * The longest access token a login may issue: what the guard parses (8 KB),
 * and with cookies also what a browser keeps in one cookie beside its name.
 */
export function maxAccessTokenBytes(transport: "header" | "cookie" | "both", accessCookieName: string): number {
  if (transport === "header") return MAX_ACCESS_TOKEN_LENGTH;
  return Math.min(MAX_ACCESS_TOKEN_LENGTH, MAX_COOKIE_BYTES - accessCookieName.length - 1);
}

/** A client detail clipped to what a record keeps; `""` when absent. */
export function clip(value: unknown, max: number): string {
  return typeof value === "string" ? value.slice(0, max) : "";
}
