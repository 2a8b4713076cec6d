/**
 * The small checks every option resolver shares: unknown keys (with a "did
 * you mean"), plain objects, booleans, and defaults that keep `null`.
 *
 * @module
 */

/** `value`, or `fallback` when the option was left out (`null` is kept, so it can be rejected). */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** Throws unless `value` is a plain object (not `null`, not an array). */
export function plainObject(name: string, value: unknown): object {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TypeError(`session-guard: \`${name}\` must be an object`);
  return value;
}

/** Throws unless `value` is a boolean. */
export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new TypeError(`session-guard: \`${name}\` must be true or false`);
  return value;
}

/** Throws for the first key of `given` that is not `known`, suggesting the closest known name. */
export function rejectUnknown(prefix: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const close = closestName(key, known);
    throw new TypeError(`session-guard: unknown option \`${prefix}${key}\`${close ? ` (did you mean \`${prefix}${close}\`?)` : ""}`);
  }
}

/** The known name within a small edit distance of a misspelt one, if any. */
function closestName(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(given.length / 4)) + 1;
  for (const name of known) {
    const distance = editDistance(given.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
