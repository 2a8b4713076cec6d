/**
 * Durations in options: milliseconds as a number, or a string such as
 * `"90s"`, `"15m"`, `"12h"`, `"30d"` (parsed by `ms`, the parser most Node
 * code already uses, rather than one of our own).
 *
 * @module
 */
import ms from "ms";

/**
 * The longest duration accepted: 1,000 years. Far beyond any session, and it
 * keeps every deadline (now + duration) an exact integer in a double, in
 * Node and in Redis's Lua alike.
 */
export const MAX_DURATION_MS = 1000 * 365.25 * 24 * 3600 * 1000;

/**
 * A duration: milliseconds, or a string like `"15m"` (parsed by `ms`).
 *
 * @example
 * ```ts
 * sessionGuard({ secret, accessTokenTtl: "15m", idleTimeout: 86_400_000, absoluteLifetime: "30d" });
 * ```
 */
export type Duration = number | string;

/**
 * Parses a duration option, throwing a `TypeError` that names the option.
 * `allowNull`: `null` means "no deadline" and is returned as is.
 */
export function parseDuration(name: string, value: unknown, allowNull: true): number | null;
export function parseDuration(name: string, value: unknown, allowNull?: false): number;
export function parseDuration(name: string, value: unknown, allowNull = false): number | null {
  if (value === null && allowNull) return null;
  let parsed: number | undefined;
  if (typeof value === "number") parsed = value;
  else if (typeof value === "string" && value.trim() !== "") parsed = ms(value as ms.StringValue) as number | undefined;
  if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed <= 0) {
    const hint = allowNull ? ", or null for no deadline" : "";
    throw new TypeError(
      `session-guard: \`${name}\` must be a positive duration: milliseconds or a string like "15m", "12h", "30d"${hint} (got ${describe(value)})`,
    );
  }
  if (parsed > MAX_DURATION_MS) {
    throw new TypeError(
      `session-guard: \`${name}\` must be at most 1000 years (got ${describe(value)})${allowNull ? "; null means no deadline at all" : ""}`,
    );
  }
  return Math.round(parsed);
}

/** A short, token-free description of a value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}
