/**
 * A fake clock for tests: time moves only when a test moves it, so deadlines
 * are tested by jumping ahead, never by sleeping.
 *
 * The methods are bound, so `clock.now` can be handed over as the guard's
 * `now` option or called detached.
 *
 * @module
 */

/** The fixed instant every fake clock starts at: 2024-01-01T00:00:00.000Z. */
export const EPOCH = Date.UTC(2024, 0, 1);

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const YEAR = 365 * DAY;

/** A clock a test controls. Times are epoch milliseconds. */
export interface FakeClock {
  /** The current fake time. */
  now(): number;
  /** Moves the clock forward by `ms` (never backward) and returns the new time. */
  advance(ms: number): number;
  /** Sets the clock to `ms` and returns it. */
  set(ms: number): number;
}

/** A fake clock starting at `start` (default {@link EPOCH}). */
export function fakeClock(start: number = EPOCH): FakeClock {
  let current = checkTime(start, "start");
  return {
    now: () => current,
    advance: (ms: number) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(${ms}): the clock only moves forward by a finite amount`);
      current += ms;
      return current;
    },
    set: (ms: number) => {
      current = checkTime(ms, "set");
      return current;
    },
  };
}

function checkTime(ms: number, what: string): number {
  if (!Number.isFinite(ms)) throw new RangeError(`${what}(${ms}): not a finite time`);
  return ms;
}
