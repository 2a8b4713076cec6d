/**
 * session-guard/testing: the store contract suite, for authors of a
 * {@link Store} of their own. It is the suite `MemoryStore` and
 * `RedisStore` pass: sessions created and read back, touches, idle and
 * absolute deadlines, forever sessions, pruning, eviction, refresh-token
 * rotation with reuse detection, revocation, and awkward user ids.
 *
 * @packageDocumentation
 */
import type { Store } from "../stores/store.js";
import { describeCheck } from "./cases/check.js";
import { describeCreateGetList } from "./cases/create-get-list.js";
import { describeDeadlines } from "./cases/deadlines.js";
import { describeEviction } from "./cases/eviction.js";
import { describeExpiries } from "./cases/expiries.js";
import { describeRevoke } from "./cases/revoke.js";
import { describeRotate } from "./cases/rotate.js";
import { Contract, type StoreInspector } from "./harness.js";
import { globalRunner, type Runner } from "./runner.js";

export type { StoreInspector } from "./harness.js";
export type { Runner, TestBody } from "./runner.js";

/**
 * The store for one test case, with what the suite may inspect of it.
 *
 * @example
 * ```ts
 * const open = async (): Promise<OpenedStore> => {
 *   const store = new MyStore({ prefix: `contract-${Date.now()}:` });
 *   return { store, inspect: { held: async () => store.size }, close: () => store.close() };
 * };
 * ```
 */
export interface OpenedStore {
  /** A store with nothing in it. */
  store: Store;
  /** Views into the backend, for the assertions on what it holds; see {@link StoreInspector}. */
  inspect?: StoreInspector;
  /** Called after the case: close the store, drop its data. */
  close?(): Promise<void>;
}

/**
 * Options of {@link describeStoreContract}.
 *
 * @example
 * ```ts
 * const options: StoreContractOptions = {
 *   name: "MyStore",
 *   open: async () => {
 *     const store = new MyStore({ table: `sessions_${Date.now()}` });
 *     return { store, close: () => store.close() };
 *   },
 * };
 * ```
 */
export interface StoreContractOptions {
  /** Named in the suite's title. */
  name: string;
  /** Opens an empty store for each case (a fresh key prefix, table or database). */
  open(): Promise<OpenedStore>;
  /** The test runner's functions; by default the globals of mocha, jest or vitest. */
  runner?: Runner;
}

/**
 * Registers the store contract suite for one store with the test runner:
 * call it at the top level of a test file.
 *
 * @example
 * ```ts
 * // mocha, jest or vitest with globals:
 * import { describeStoreContract } from "session-guard/testing";
 * describeStoreContract({ name: "MyStore", open: async () => ({ store: new MyStore() }) });
 *
 * // node:test
 * import { describe, it, beforeEach, afterEach } from "node:test";
 * describeStoreContract({ name: "MyStore", open: async () => ({ store: new MyStore() }), runner: { describe, it, beforeEach, afterEach } });
 * ```
 */
export function describeStoreContract(options: StoreContractOptions): void {
  if (options === null || typeof options !== "object") throw new TypeError("describeStoreContract: options must be an object");
  const { name, open } = options;
  if (typeof name !== "string" || name === "") throw new TypeError("describeStoreContract: `name` must be a non-empty string");
  if (typeof open !== "function") throw new TypeError("describeStoreContract: `open` must be a function resolving to { store }");
  const runner = options.runner ?? globalRunner();
  let opened: OpenedStore | undefined;
  let contract: Contract | undefined;
  // The cases are registered once but each runs with the contract of its
  // own beforeEach: they see it through this stand-in.
  const current = new Proxy({} as Contract, {
    get(_, name) {
      if (!contract) throw new Error("describeStoreContract: no store is open (open() failed)");
      const value: unknown = Reflect.get(contract, name, contract);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(contract) : value;
    },
  });

  runner.describe(`${name} store contract`, () => {
    runner.beforeEach(async () => {
      opened = await open();
      if (!opened || typeof opened.store !== "object" || opened.store === null) {
        throw new TypeError("describeStoreContract: `open` must resolve to { store, inspect?, close? }");
      }
      contract = new Contract(opened.store, opened.inspect ?? {});
    });
    runner.afterEach(async () => {
      const closing = opened;
      opened = undefined;
      contract = undefined;
      await closing?.close?.();
    });
    describeCreateGetList(runner, current);
    describeCheck(runner, current);
    describeDeadlines(runner, current);
    describeExpiries(runner, current);
    describeEviction(runner, current);
    describeRotate(runner, current);
    describeRevoke(runner, current);
  });
}
