/**
 * The store group: the store itself (a `MemoryStore` with a warning when
 * none is given), the store-call timeout, and what to do when it fails.
 *
 * @module
 */
import { parseDuration } from "../duration.js";
import type { SessionGuardOptions } from "../options.js";
import { MemoryStore } from "../stores/memory.js";
import type { Store } from "../stores/store.js";
import { warnOnce } from "../warnings.js";
import { DEFAULTS } from "./defaults.js";
import { orDefault } from "./validate.js";

/** The store settings resolved. */
export interface ResolvedStore {
  store: Store;
  /** Milliseconds. */
  storeTimeout: number;
  onStoreError: "deny" | "allow";
}

/** Every method of the store contract, checked on a store given in. */
const STORE_METHODS = ["create", "check", "rotate", "revokeByRefresh", "get", "list", "revoke", "revokeAll", "close"];
/** Node's longest timer: a longer delay fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves `store`, `storeTimeout` and `onStoreError`. */
export function resolveStore(options: SessionGuardOptions): ResolvedStore {
  const onStoreError = orDefault(options.onStoreError, DEFAULTS.onStoreError);
  if (onStoreError !== "deny" && onStoreError !== "allow") throw new TypeError('session-guard: `onStoreError` must be "deny" or "allow"');
  const storeTimeout = parseDuration("storeTimeout", orDefault(options.storeTimeout, DEFAULTS.storeTimeout));
  if (storeTimeout > MAX_TIMER_MS)
    throw new TypeError(
      `session-guard: \`storeTimeout\` must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node runs`,
    );
  let store = options.store;
  if (store === undefined) {
    warnOnce(
      "SESSION_GUARD_MEMORY_STORE",
      "session-guard: no `store` given, so sessions live in this process's memory (MemoryStore). Pass `store: new RedisStore({ client })` to share sessions between processes and keep them across restarts.",
    );
    store = new MemoryStore();
  } else if (
    typeof store !== "object" ||
    store === null ||
    STORE_METHODS.some((m) => typeof (store as unknown as Record<string, unknown>)[m] !== "function")
  ) {
    throw new TypeError("session-guard: `store` must be a RedisStore, a MemoryStore or another implementation of the Store contract");
  }
  return { store, storeTimeout, onStoreError };
}
