/**
 * Misconfiguration warnings: each has a stable code (listed here, and in the
 * README), is emitted once per scope — the process, or the object it is
 * about (a Redis client, a store) — through `process.emitWarning`, so
 * `--no-warnings` and warning listeners work as users expect. A message
 * never contains a secret or a token.
 *
 * @module
 */

/** Every warning code session-guard emits. */
export const WARNING_CODES = Object.freeze([
  "SESSION_GUARD_MEMORY_STORE",
  "SESSION_GUARD_REFRESH_KEY_FROM_JWT",
  "SESSION_GUARD_LISTENER_ERROR",
  "SESSION_GUARD_REDIS_OFFLINE_QUEUE",
  "SESSION_GUARD_REDIS_CLUSTER_AUTO_PIPELINING",
  "SESSION_GUARD_REDIS_NO_COMMAND_TIMEOUT",
  "SESSION_GUARD_REDIS_EVICTION_POLICY",
  "SESSION_GUARD_REDIS_REPLICA_READS",
  "SESSION_GUARD_REDIS_REPLICAS_BEHIND",
  "SESSION_GUARD_REDIS_WAIT_TIMEOUT",
] as const);

/** One of {@link WARNING_CODES}. */
export type WarningCode = (typeof WARNING_CODES)[number];

const PROCESS = {};
const emitted = new WeakMap<object, Set<WarningCode>>();

/** Emits the warning `code` once per `scope` (default: once per process). */
export function warnOnce(code: WarningCode, message: string, scope: object = PROCESS): void {
  let codes = emitted.get(scope);
  if (codes === undefined) emitted.set(scope, (codes = new Set()));
  if (codes.has(code)) return;
  codes.add(code);
  process.emitWarning(message, { type: "SessionGuardWarning", code });
}
