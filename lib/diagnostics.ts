/**
 * Tracing through Node's `diagnostics_channel`: every store call the guard
 * and the routes make is published on a `tracingChannel` named
 * `session-guard:<operation>` (check, create, rotate, revokeByRefresh, get,
 * list, revoke, revokeAll), so OpenTelemetry or any APM can subscribe.
 * With no subscriber a call costs a lookup and a few property reads.
 *
 * And every request the guard or the routes refuse is published on the
 * plain channel `session-guard:rejected`, only when someone listens.
 *
 * @module
 */
import { channel, tracingChannel, type TracingChannel } from "node:diagnostics_channel";
import type { SessionError, SessionErrorCode } from "./errors.js";
import type { Guard } from "./http/guard.js";
import type { RouteName } from "./http/router.js";

/**
 * What a subscriber's handlers receive: the operation, who it is about,
 * the guard that made the call (so one guard's calls can be told from
 * another's), and (filled in by Node) `result` or `error`.
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
  /** The guard whose request, route or `guard.sessions` call this is. */
  guard: Guard | undefined;
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

/**
 * The name of the plain `diagnostics_channel` channel on which every request
 * the guard or the routes refuse is published, as a {@link RejectedRequest}.
 *
 * @example
 * ```ts
 * import { subscribe } from "node:diagnostics_channel";
 * subscribe(REJECTED_CHANNEL, (message) => {
 *   const { code, source } = message as RejectedRequest;
 *   log.info({ code, source }, "request refused");
 * });
 * ```
 */
export const REJECTED_CHANNEL = "session-guard:rejected";

/**
 * Who refused a request: the guard (`"guard"`, `"guard.optional"`), its
 * `errorHandler` (a `SessionError` thrown in an app route), one of the
 * routes by its name, or `"router"` for a path the router could not decode.
 *
 * @example
 * ```ts
 * const fromRoutes = (source: RejectionSource) => source !== "guard" && source !== "guard.optional" && source !== "errorHandler";
 * ```
 */
export type RejectionSource = "guard" | "guard.optional" | "errorHandler" | "router" | RouteName;

/**
 * One refused request, as published on {@link REJECTED_CHANNEL}: the error
 * code and status it was answered with (also when the app's `onError`
 * answered it), who refused it, and the guard (to tell several apart).
 *
 * @example
 * ```ts
 * subscribe(REJECTED_CHANNEL, (message) => {
 *   const rejected = message as RejectedRequest;
 *   if (rejected.guard === adminGuard && rejected.code === "csrf_failed") alerts.notify(rejected.source);
 * });
 * ```
 */
export interface RejectedRequest {
  code: SessionErrorCode;
  status: number;
  source: RejectionSource;
  guard: Guard;
}

const rejected = channel(REJECTED_CHANNEL);
/**
 * Refusals already published: an app's `onError` may hand the error on
 * (`next(err)`) to the guard's `errorHandler`, which must not count it again.
 */
const published = new WeakSet<SessionError>();

/** Publishes a refusal, once per error; allocates nothing when no one listens. */
export function publishRejection(err: SessionError, guard: Guard, source: RejectionSource): void {
  if (!rejected.hasSubscribers || published.has(err)) return;
  published.add(err);
  const message: RejectedRequest = { code: err.code, status: err.status, source, guard };
  rejected.publish(message);
}
