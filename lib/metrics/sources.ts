/**
 * Where the series get their numbers, chosen so each thing is counted once:
 * the guard's own events for logins, refreshes, logouts, revocations, reuse
 * and store errors (they belong to that guard already); the rejection
 * channel for refused requests and the tracing channels for store latency,
 * both process-wide, so their messages are kept only when they name this guard.
 *
 * @module
 */
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { REJECTED_CHANNEL, TRACED_OPERATIONS, type RejectedRequest, type StoreCallContext } from "../diagnostics.js";
import type { Guard } from "../http/guard.js";
import type { SessionEvents } from "../options.js";
import type { GuardSeries } from "./series.js";

type Listeners = { [E in keyof SessionEvents]: (payload: SessionEvents[E]) => void };

/** Feeds `series` from `guard`; returns what undoes it. */
export function feedSeries(guard: Guard, series: GuardSeries): () => void {
  const listeners: Listeners = {
    login: ({ rememberMe }) => series.logins.inc({ remember_me: rememberMe ? "true" : "false" }),
    refresh: () => series.refreshes.inc(),
    logout: () => series.logouts.inc(),
    revoke: ({ reason }) => series.revocations.inc({ reason }),
    reuse_detected: () => series.reuseDetections.inc(),
    store_error: ({ operation }) => series.storeErrors.inc({ operation }),
  };
  const events = Object.keys(listeners) as Array<keyof SessionEvents>;
  for (const event of events) guard.on(event, listeners[event] as never);

  const onRejected = (message: unknown) => {
    const { code, source, guard: from } = message as RejectedRequest;
    if (from === guard) series.rejected.inc({ code, source });
  };
  subscribe(REJECTED_CHANNEL, onRejected);

  const unsubscribeLatency = timeStoreCalls(guard, series);
  return () => {
    for (const event of events) guard.off(event, listeners[event] as never);
    unsubscribe(REJECTED_CHANNEL, onRejected);
    unsubscribeLatency();
  };
}

/**
 * Times this guard's store calls: `start` notes the time, `asyncEnd` (which
 * Node publishes after `error` for a failed call, with `error` set) observes it.
 */
function timeStoreCalls(guard: Guard, series: GuardSeries): () => void {
  const started = new WeakMap<object, number>();
  const start = (message: unknown) => {
    if ((message as StoreCallContext).guard === guard) started.set(message as object, performance.now());
  };
  const asyncEnd = (message: unknown) => {
    const t0 = started.get(message as object);
    if (t0 === undefined) return;
    const { operation, error } = message as StoreCallContext;
    series.storeLatency.observe({ operation, outcome: error === undefined ? "ok" : "error" }, (performance.now() - t0) / 1000);
  };
  const channels = TRACED_OPERATIONS.map((operation) => tracingChannel(`session-guard:${operation}`));
  for (const channel of channels) {
    channel.start.subscribe(start);
    channel.asyncEnd.subscribe(asyncEnd);
  }
  return () => {
    for (const channel of channels) {
      channel.start.unsubscribe(start);
      channel.asyncEnd.unsubscribe(asyncEnd);
    }
  };
}
