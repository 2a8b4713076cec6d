/**
 * The test runner the store contract suite registers its cases with.
 *
 * @module
 */

/**
 * A test or hook body: may return a promise.
 *
 * @example
 * ```ts
 * const body: TestBody = async () => {
 *   await store.close();
 * };
 * ```
 */
export type TestBody = () => void | Promise<void>;

/**
 * The four functions the suite needs, as mocha, jest, vitest (with
 * globals) and `node:test` all provide them.
 *
 * @example
 * ```ts
 * import { describe, it, beforeEach, afterEach } from "node:test";
 * const runner: Runner = { describe, it, beforeEach, afterEach };
 * ```
 */
export interface Runner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: TestBody): unknown;
  beforeEach(body: TestBody): unknown;
  afterEach(body: TestBody): unknown;
}

/** The runner's functions from the globals, or a `TypeError` that says to pass `runner`. */
export function globalRunner(): Runner {
  const g = globalThis as unknown as Partial<Runner>;
  const missing = (["describe", "it", "beforeEach", "afterEach"] as const).filter((name) => typeof g[name] !== "function");
  if (missing.length > 0) {
    throw new TypeError(
      `session-guard/testing: no global ${missing.join(", ")}; pass \`runner\` (e.g. { describe, it, beforeEach, afterEach } from "node:test")`,
    );
  }
  return g as Runner;
}
