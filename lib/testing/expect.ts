/**
 * The few assertions the store contract suite makes, on `node:assert`, so
 * the suite runs under any test runner without an assertion library.
 * Written as `expect(actual, message).to.…` to read like the rest of the
 * project's tests.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Chains of {@link expect}. */
export interface Expectation {
  to: {
    equal(expected: unknown): void;
    deep: { equal(expected: unknown): void };
    not: { equal(expected: unknown): void; include(part: unknown): void };
    have: { length(expected: number): void };
    be: {
      oneOf(options: readonly unknown[]): void;
      above(limit: number): void;
      greaterThan(limit: number): void;
      at: { most(limit: number): void };
    };
  };
}

/** Assertions on `actual`; `message` names what is checked in a failure. */
export function expect(actual: unknown, message?: string): Expectation {
  const number = (what: string): number => {
    assert.equal(typeof actual, "number", `${message ?? "value"}: expected a number to be ${what}`);
    return actual as number;
  };
  const above = (limit: number) =>
    assert.ok(number(`above ${limit}`) > limit, `${message ?? "value"}: expected ${String(actual)} > ${limit}`);
  return {
    to: {
      equal: (expected) => assert.equal(actual, expected, message),
      deep: { equal: (expected) => assert.deepStrictEqual(actual, expected, message) },
      not: {
        equal: (expected) => assert.notEqual(actual, expected, message),
        include: (part) =>
          assert.ok(
            !(actual as { includes(p: unknown): boolean }).includes(part),
            `${message ?? "value"}: expected not to include ${String(part)}`,
          ),
      },
      have: { length: (expected) => assert.equal((actual as { length: number }).length, expected, message) },
      be: {
        oneOf: (options) =>
          assert.ok(options.includes(actual), `${message ?? "value"}: expected ${String(actual)} to be one of ${options.join(", ")}`),
        above,
        greaterThan: above,
        at: {
          most: (limit) => assert.ok(number(`at most ${limit}`) <= limit, `${message ?? "value"}: expected ${String(actual)} <= ${limit}`),
        },
      },
    },
  };
}
