/**
 * A bounded memory of access tokens whose signature and claims already
 * passed {@link verifyAccessToken}, so that a client's next requests with
 * the same token skip the HMAC or signature check and the JSON parsing.
 *
 * It caches only what a token says about itself, never whether its session
 * is alive: the guard still asks the store on every request, so a logout
 * takes effect at once. Entries are keyed by the whole token string (only
 * the exact token verified hits; a copy, so the request's header can be
 * freed), hold deeply frozen claims (a route cannot change what the next
 * request sees), and are only used between the times the full check would
 * accept: from `iat − clockTolerance` until `exp + clockTolerance`. Outside
 * that window the token goes through the full check again, which gives the
 * precise error.
 *
 * @module
 */
import { MAX_ACCESS_TOKEN_LENGTH, type AccessClaims } from "./access.js";

/**
 * How many verified tokens one guard remembers: each entry is a token
 * (typically about 300 characters) and its claims, so about 2.5 MB in all
 * for typical tokens, and at most about 25 MB when every token carries the
 * full 2 KB of custom claims a session may have.
 */
export const VERIFIED_TOKEN_CACHE_SIZE = 4096;

interface Entry {
  claims: AccessClaims;
  /** First millisecond the full check accepts the token. */
  validFrom: number;
  /** First millisecond the full check calls it expired. */
  expiredFrom: number;
}

export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  /** The keys in the order they were added, as a ring: the next one to go is at `#next`. */
  readonly #order: Array<string | undefined>;
  #next = 0;
  /** Milliseconds. */
  readonly #tolerance: number;

  /** `clockTolerance` in seconds, as the JWT check takes it. */
  constructor(clockTolerance: number, capacity = VERIFIED_TOKEN_CACHE_SIZE) {
    this.#tolerance = clockTolerance * 1000;
    this.#order = new Array(capacity).fill(undefined);
  }

  /** The claims of `token` when it was verified and is still acceptable at `now`. */
  get(token: string, now: number): AccessClaims | undefined {
    // Longer ones are never kept; do not hash them.
    const entry = token.length > MAX_ACCESS_TOKEN_LENGTH ? undefined : this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (now >= entry.validFrom && now < entry.expiredFrom) return entry.claims;
    this.#entries.delete(token);
    return undefined;
  }

  /**
   * Remembers the claims of a token that just passed the full check, and
   * returns them frozen. Tokens with `nbf` are not kept (session-guard never
   * issues one, and its check depends on the clock in another way).
   */
  add(token: string, claims: AccessClaims): AccessClaims {
    const frozen = deepFreeze(claims);
    const capacity = this.#order.length;
    if (claims.nbf !== undefined || capacity === 0 || token.length > MAX_ACCESS_TOKEN_LENGTH) return frozen;
    const entry = {
      claims: frozen,
      validFrom: claims.iat * 1000 - this.#tolerance,
      // jsonwebtoken: expired when floor(now / 1000) >= exp + clockTolerance.
      expiredFrom: Math.ceil(claims.exp + this.#tolerance / 1000) * 1000,
    };
    // Two requests verified the same token at once: one entry, one place in the ring.
    if (this.#entries.has(token)) {
      this.#entries.set(token, entry);
      return frozen;
    }
    // First in, first out. (A key already dropped as expired is deleted
    // again harmlessly; a token added again later just leaves a little early.)
    const oldest = this.#order[this.#next];
    if (oldest !== undefined) this.#entries.delete(oldest);
    // The token as cut from the request may be a slice that keeps the whole
    // header (up to Node's 16 KB) alive: keep a copy of its own (tokens that
    // passed the check are ASCII).
    const own = Buffer.from(token, "latin1").toString("latin1");
    this.#order[this.#next] = own;
    this.#next = (this.#next + 1) % capacity;
    this.#entries.set(own, entry);
    return frozen;
  }

  /** Entries held (for tests and the benchmark). */
  get size(): number {
    return this.#entries.size;
  }
}

/** Freezes a parsed JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
