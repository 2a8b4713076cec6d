/**
 * The options of `sessionGuardMetrics`, validated once: a `TypeError`
 * naming the option for anything wrong.
 *
 * @module
 */
import type { Registry } from "prom-client";

/**
 * Options of {@link sessionGuardMetrics}.
 *
 * @example
 * ```ts
 * import { register } from "prom-client";
 * const options: SessionGuardMetricsOptions = { registry: register, prefix: "admin_session_guard_" };
 * sessionGuardMetrics(adminGuard, options);
 * ```
 */
export interface SessionGuardMetricsOptions {
  /** Where the series are registered. Default: a new `Registry` of its own (returned as `registry`). */
  registry?: Registry;
  /** Put before every series name. Default `"session_guard_"`; give each guard its own when they share a registry. */
  prefix?: string;
  /** Upper bounds, in seconds, of the store-latency histogram's buckets. Default 0.5 ms to 2.5 s. */
  buckets?: number[];
}

/** Options after validation, with the defaults filled in (the registry is made later, with prom-client). */
export interface ResolvedMetricsOptions {
  registry: Registry | undefined;
  prefix: string;
  buckets: number[];
}

/** Store calls take well under a millisecond on a local network; `storeTimeout` is 1 s by default. */
export const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const KNOWN = new Set(["registry", "prefix", "buckets"]);
/** What Prometheus allows at the start of a metric name (an empty prefix is fine too). */
const METRIC_NAME_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

export function resolveMetricsOptions(options: unknown): ResolvedMetricsOptions {
  if (options === undefined) return { registry: undefined, prefix: "session_guard_", buckets: DEFAULT_BUCKETS };
  if (typeof options !== "object" || options === null) throw new TypeError("session-guard/metrics: `options` must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`session-guard/metrics: unknown option \`${key}\` (one of ${[...KNOWN].join(", ")})`);
  }
  const { registry, prefix = "session_guard_", buckets = DEFAULT_BUCKETS } = options as SessionGuardMetricsOptions;
  if (registry !== undefined && !isRegistry(registry))
    throw new TypeError("session-guard/metrics: `registry` must be a prom-client Registry");
  if (typeof prefix !== "string" || !METRIC_NAME_PREFIX.test(prefix)) {
    throw new TypeError("session-guard/metrics: `prefix` must be a string of letters, digits, `_` and `:`, not starting with a digit");
  }
  if (!isIncreasing(buckets)) {
    throw new TypeError("session-guard/metrics: `buckets` must be a non-empty array of increasing positive finite numbers (seconds)");
  }
  return { registry, prefix, buckets: [...buckets] };
}

function isRegistry(value: unknown): value is Registry {
  const candidate = value as Partial<Record<keyof Registry, unknown>> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.registerMetric === "function" &&
    typeof candidate.getSingleMetric === "function" &&
    typeof candidate.removeSingleMetric === "function" &&
    typeof candidate.metrics === "function"
  );
}

function isIncreasing(buckets: unknown): buckets is number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) return false;
  return buckets.every((b, i) => typeof b === "number" && Number.isFinite(b) && b > 0 && (i === 0 || b > (buckets[i - 1] as number)));
}
