/**
 * Misconfiguration warnings: each has a stable code, is emitted once per
 * process through `process.emitWarning` (so `--no-warnings` and warning
 * listeners work as users expect), and never contains a secret or token.
 *
 * @module
 */

const emitted = new Set<string>();

/** Emits the warning `code` once per process. */
export function warnOnce(code: string, message: string): void {
  if (emitted.has(code)) return;
  emitted.add(code);
  process.emitWarning(message, { type: "SessionGuardWarning", code });
}
