/**
 * Tracing through Node's `diagnostics_channel`: every store call the guard
 * and the routes make is published on a `tracingChannel` named
 * `session-guard:<operation>` (check, create, rotate, revokeByRefresh, get,
 * list, revoke, revokeAll), so OpenTelemetry or any APM can subscribe.
 * With no subscriber a call costs a lookup and a few property reads.
 *
 * @module
 */
import { tracingChannel, type TracingChannel } from "node:diagnostics_channel";

/**
 * What a subscriber's handlers receive: the operation, who it is about,
 * and (filled in by Node) `result` or `error`.
 *
 * @example
 * ```ts
 * import { tracingChannel } from "node:diagnostics_channel";
 * tracingChannel("session-guard:check").subscribe({
 *   start(ctx: StoreCallContext) { (ctx as { t0?: number }).t0 = performance.now(); },
 *   asyncEnd(ctx: StoreCallContext) { histogram.observe(performance.now() - (ctx as { t0?: number }).t0!); },
 *   error(ctx: StoreCallContext) { errors.inc({ operation: ctx.operation }); },
 * });
 * ```
 */
export interface StoreCallContext {
  operation: string;
  userId: string | undefined;
  sessionId: string | undefined;
  result?: unknown;
  error?: unknown;
}

/**
 * The operations published, one channel `session-guard:<operation>` each.
 *
 * @example
 * ```ts
 * for (const operation of TRACED_OPERATIONS) tracingChannel(`session-guard:${operation}`).subscribe(handlers);
 * ```
 */
export const TRACED_OPERATIONS = ["check", "create", "rotate", "revokeByRefresh", "get", "list", "revoke", "revokeAll"] as const;

const channels = new Map<string, TracingChannel<unknown, StoreCallContext>>(
  TRACED_OPERATIONS.map((name) => [name, tracingChannel<unknown, StoreCallContext>(`session-guard:${name}`)]),
);

/** The operation's channel when something listens to it, else `undefined` (the untraced fast path). */
export function listenedChannel(operation: string): TracingChannel<unknown, StoreCallContext> | undefined {
  const channel = channels.get(operation);
  if (channel === undefined) return undefined;
  // TracingChannel#hasSubscribers is missing before Node 20.13: ask its parts.
  const listened =
    channel.start.hasSubscribers || channel.asyncEnd.hasSubscribers || channel.error.hasSubscribers || channel.end.hasSubscribers;
  return listened ? channel : undefined;
}
