/**
 * The deadline group: idle and absolute deadlines of standard and
 * remember-me sessions, the touch interval, the reuse window and the
 * per-user cap.
 *
 * @module
 */
import { describe, parseDuration } from "../duration.js";
import type { DeadlineOptions, SessionGuardOptions } from "../options.js";
import { DEADLINE_OPTION_NAMES, DEFAULTS } from "./defaults.js";
import { boolean, orDefault, plainObject, rejectUnknown } from "./validate.js";

/** Deadlines resolved to milliseconds or `null`. */
export interface Deadlines {
  idleTimeout: number | null;
  absoluteLifetime: number | null;
}

/** The deadline settings resolved. */
export interface ResolvedDeadlines {
  standard: Deadlines;
  remembered: Deadlines;
  allowRememberMe: boolean;
  touchInterval: number;
  refreshReuseWindow: number;
  maxSessionsPerUser: number | null;
}

/** The most sessions a user may be capped at: every per-user operation is bounded by it. */
const MAX_SESSIONS_CAP = 100_000;

/** Resolves the deadlines, `allowRememberMe`, `touchInterval`, `refreshReuseWindow` and `maxSessionsPerUser`. */
export function resolveDeadlines(options: SessionGuardOptions): ResolvedDeadlines {
  const standard = deadlines("", { idleTimeout: options.idleTimeout, absoluteLifetime: options.absoluteLifetime }, DEFAULTS);
  const rememberOptions = plainObject("rememberMe", orDefault(options.rememberMe, {})) as DeadlineOptions;
  rejectUnknown("rememberMe.", rememberOptions, DEADLINE_OPTION_NAMES);
  const remembered = deadlines("rememberMe.", rememberOptions, DEFAULTS.rememberMe);

  const allowRememberMe = boolean("allowRememberMe", orDefault(options.allowRememberMe, DEFAULTS.allowRememberMe));
  const idles = [standard.idleTimeout, allowRememberMe ? remembered.idleTimeout : null].filter((v): v is number => v !== null);
  const shortestIdle = idles.length ? Math.min(...idles) : null;
  const longestTouch = parseDuration("touchInterval", DEFAULTS.touchInterval);
  const touchInterval =
    options.touchInterval === undefined
      ? Math.max(1, Math.min(longestTouch, shortestIdle === null ? longestTouch : Math.floor(shortestIdle / 10)))
      : parseDuration("touchInterval", options.touchInterval);
  if (shortestIdle !== null && touchInterval >= shortestIdle) {
    throw new TypeError(
      `session-guard: \`touchInterval\` (${touchInterval} ms) must be shorter than the idle timeout (${shortestIdle} ms), or a session could die between two writes`,
    );
  }

  const maxSessionsPerUser = options.maxSessionsPerUser === undefined ? DEFAULTS.maxSessionsPerUser : options.maxSessionsPerUser;
  if (
    maxSessionsPerUser !== null &&
    (!Number.isInteger(maxSessionsPerUser) || maxSessionsPerUser < 1 || maxSessionsPerUser > MAX_SESSIONS_CAP)
  ) {
    throw new TypeError(
      `session-guard: \`maxSessionsPerUser\` must be an integer from 1 to ${MAX_SESSIONS_CAP}, or null for no cap (got ${describe(maxSessionsPerUser)})`,
    );
  }
  return {
    standard,
    remembered,
    allowRememberMe,
    touchInterval,
    refreshReuseWindow: parseDuration("refreshReuseWindow", orDefault(options.refreshReuseWindow, DEFAULTS.refreshReuseWindow)),
    maxSessionsPerUser,
  };
}

function deadlines(prefix: string, given: DeadlineOptions, defaults: { idleTimeout: string; absoluteLifetime: string }): Deadlines {
  const idleTimeout = parseDuration(`${prefix}idleTimeout`, orDefault(given.idleTimeout, defaults.idleTimeout), true);
  const absoluteLifetime = parseDuration(`${prefix}absoluteLifetime`, orDefault(given.absoluteLifetime, defaults.absoluteLifetime), true);
  if (idleTimeout !== null && absoluteLifetime !== null && idleTimeout > absoluteLifetime) {
    throw new TypeError(
      `session-guard: \`${prefix}idleTimeout\` must not be longer than \`${prefix}absoluteLifetime\`: lower it, or set the lifetime to null`,
    );
  }
  return Object.freeze({ idleTimeout, absoluteLifetime });
}
