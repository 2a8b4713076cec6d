/**
 * `session-guard/metrics`: Prometheus metrics of a guard with prom-client,
 * an optional peer dependency loaded only here. Counters of logins,
 * refreshes, logouts, revocations, reuse detections, refused requests and
 * store errors; a histogram of store-call latency; the local session
 * cache's gauges when the cache is on.
 *
 * @packageDocumentation
 */
import { guardInternals, type Guard } from "../http/guard.js";
import { requireOptionalPeer } from "../optional-peer.js";
import type { Registry } from "prom-client";
import { resolveMetricsOptions, type SessionGuardMetricsOptions } from "./options.js";
import { registerSeries, type PromClient } from "./series.js";
import { feedSeries } from "./sources.js";

export type { SessionGuardMetricsOptions } from "./options.js";

/**
 * What {@link sessionGuardMetrics} returns.
 *
 * @example
 * ```ts
 * const metrics: SessionGuardMetrics = sessionGuardMetrics(guard);
 * app.get("/metrics", async (_req, res) => {
 *   res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
 * });
 * process.on("SIGTERM", () => metrics.close());
 * ```
 */
export interface SessionGuardMetrics {
  /** The registry the series are on: the one given, or a new one. */
  readonly registry: Registry;
  /** Unsubscribes from the guard and the channels and removes the series from the registry. Idempotent. */
  close(): void;
}

const MISSING = "session-guard/metrics needs the prom-client package, which is not installed. Run `npm install prom-client`.";

/**
 * Prometheus series of one guard (see the README's "Metrics and tracing"
 * for each series). Only this guard's requests and store calls are counted,
 * so several guards in one process each get their own, with distinct
 * `prefix`es (or registries) when they share a registry.
 *
 * @example
 * ```ts
 * import { sessionGuardMetrics } from "session-guard/metrics";
 * const metrics = sessionGuardMetrics(guard, { prefix: "session_guard_" });
 * app.get("/metrics", async (_req, res) => {
 *   res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
 * });
 * ```
 */
export function sessionGuardMetrics(guard: Guard, options?: SessionGuardMetricsOptions): SessionGuardMetrics {
  if (guardInternals(guard) === undefined) {
    throw new TypeError("session-guard/metrics: sessionGuardMetrics(guard) needs the guard returned by sessionGuard()");
  }
  const { registry: given, prefix, buckets } = resolveMetricsOptions(options);
  const prom = requireOptionalPeer("prom-client", MISSING) as PromClient;
  const registry = given ?? new prom.Registry();
  const series = registerSeries(prom, registry, prefix, buckets, guard.cache);
  let stop: (() => void) | undefined = feedSeries(guard, series);
  return {
    registry,
    close() {
      if (stop === undefined) return;
      stop();
      stop = undefined;
      for (const name of series.names) registry.removeSingleMetric(name);
    },
  };
}
