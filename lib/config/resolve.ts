/**
 * `resolveOptions`: the public options of `sessionGuard()` resolved once,
 * at construction, into the frozen internal config, one resolver per group.
 * Nothing on the hot path reads raw options. Every mistake throws a
 * `TypeError` that names the option.
 *
 * @module
 */
import type { ResolvedConfig, SessionGuardOptions } from "../options.js";
import { resolveCache } from "./cache.js";
import { resolveDeadlines } from "./deadlines.js";
import { DEFAULTS, OPTION_NAMES } from "./defaults.js";
import { resolveJwt } from "./jwt.js";
import { resolveStore } from "./store.js";
import { resolveTransport } from "./transport.js";
import { orDefault, rejectUnknown } from "./validate.js";

/** Resolves and validates options once. Throws `TypeError` naming the option. */
export function resolveOptions(options: SessionGuardOptions): ResolvedConfig {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("session-guard: sessionGuard(options) takes an options object");
  }
  rejectUnknown("", options, OPTION_NAMES);
  const jwt = resolveJwt(options);
  const deadlines = resolveDeadlines(options);
  const transport = resolveTransport(options);

  const requestProperty = orDefault(options.requestProperty, DEFAULTS.requestProperty);
  if (typeof requestProperty !== "string" || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(requestProperty) || requestProperty === "__proto__") {
    throw new TypeError('session-guard: `requestProperty` must be an identifier such as "session" or "auth"');
  }
  for (const name of ["getToken", "onError", "now"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function")
      throw new TypeError(`session-guard: \`${name}\` must be a function`);
  }
  // Last: a default MemoryStore is made (and warned about) only for options that are otherwise right.
  const store = resolveStore(options);
  const cache = resolveCache(options, store.store);

  return Object.freeze({
    ...jwt,
    ...deadlines,
    ...transport,
    ...store,
    ...cache,
    getToken: options.getToken,
    requestProperty,
    onError: options.onError,
    now: options.now === undefined ? Date.now : wholeMilliseconds(options.now),
  });
}

/**
 * A user clock made to give whole milliseconds, as every store and TTL
 * expects. A reading that is no time at all (`NaN` from an invalid `Date`,
 * say) throws: compared with it, every deadline would pass for alive.
 */
function wholeMilliseconds(now: () => number): () => number {
  return () => {
    const ms = Math.floor(now());
    if (!Number.isSafeInteger(ms) || ms < 0)
      throw new Error(`session-guard: the \`now\` clock returned ${ms}, not epoch milliseconds; refusing to judge deadlines with it`);
    return ms;
  };
}
