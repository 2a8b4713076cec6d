/**
 * The Prometheus series of one guard, registered on one registry. The
 * labels whose values are known in advance start at zero, so a dashboard's
 * `rate()` has a series before the first event.
 *
 * @module
 */
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { TRACED_OPERATIONS } from "../diagnostics.js";
import type { SessionCacheStats } from "../sessions/cache.js";

/** What the series need of prom-client: its metric classes (from the app's installed copy). */
export interface PromClient {
  Counter: typeof Counter;
  Gauge: typeof Gauge;
  Histogram: typeof Histogram;
  Registry: typeof Registry;
}

/** The series the event and channel handlers update. */
export interface GuardSeries {
  logins: Counter<"remember_me">;
  refreshes: Counter;
  logouts: Counter;
  revocations: Counter<"reason">;
  reuseDetections: Counter;
  rejected: Counter<"code" | "source">;
  storeErrors: Counter<"operation">;
  storeLatency: Histogram<"operation" | "outcome">;
  /** Every registered name, for `close()`. */
  names: string[];
}

const REVOKE_REASONS = ["logout-all", "logout-others", "revoked", "evicted"];

/** Registers the series; `cache` adds the cache gauges, read from it on every scrape. */
export function registerSeries(
  prom: PromClient,
  registry: Registry,
  prefix: string,
  buckets: number[],
  cache: SessionCacheStats | undefined,
): GuardSeries {
  const registers = [registry];
  const names: string[] = [];
  const named = (name: string) => {
    const full = prefix + name;
    if (registry.getSingleMetric(full) !== undefined) {
      throw new TypeError(
        `session-guard/metrics: the registry already has a series \`${full}\`: give each guard its own \`prefix\` or \`registry\``,
      );
    }
    names.push(full);
    return full;
  };
  // Names are checked before any series is made, so a clash registers nothing.
  const plan = {
    logins: named("logins_total"),
    refreshes: named("refreshes_total"),
    logouts: named("logouts_total"),
    revocations: named("revocations_total"),
    reuseDetections: named("reuse_detections_total"),
    rejected: named("rejected_requests_total"),
    storeErrors: named("store_errors_total"),
    storeLatency: named("store_call_duration_seconds"),
    cache: cache === undefined ? undefined : cacheNames(named),
  };

  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new prom.Counter<L>({ name, help, labelNames, registers });
  const series: GuardSeries = {
    logins: counter(plan.logins, "Sessions started (logins)", ["remember_me"]),
    refreshes: counter(plan.refreshes, "Refresh tokens rotated"),
    logouts: counter(plan.logouts, "Sessions ended by their user"),
    revocations: counter(plan.revocations, "Sessions revoked, by reason (a reuse detection is counted apart)", ["reason"]),
    reuseDetections: counter(plan.reuseDetections, "Spent refresh tokens presented again; each revoked its session"),
    rejected: counter(plan.rejected, "Requests refused by the guard or the routes, by error code and by who refused", ["code", "source"]),
    storeErrors: counter(plan.storeErrors, "Store calls that failed or timed out, by operation", ["operation"]),
    storeLatency: new prom.Histogram({
      name: plan.storeLatency,
      help: "Duration of store calls in seconds, by operation and outcome (ok, error)",
      labelNames: ["operation", "outcome"],
      buckets,
      registers,
    }),
    names,
  };
  series.logins.inc({ remember_me: "false" }, 0);
  series.logins.inc({ remember_me: "true" }, 0);
  for (const reason of REVOKE_REASONS) series.revocations.inc({ reason }, 0);
  for (const operation of TRACED_OPERATIONS) series.storeErrors.inc({ operation }, 0);
  if (cache !== undefined && plan.cache !== undefined) registerCacheSeries(prom, registers, plan.cache, cache);
  return series;
}

function cacheNames(named: (name: string) => string) {
  return {
    size: named("cache_sessions"),
    max: named("cache_max_sessions"),
    hits: named("cache_hits_total"),
    misses: named("cache_misses_total"),
    ratio: named("cache_hit_ratio"),
    subscribed: named("cache_subscribed"),
  };
}

/** Gauges and counters of the local session cache, each read from its stats when scraped. */
function registerCacheSeries(prom: PromClient, registers: Registry[], names: ReturnType<typeof cacheNames>, stats: SessionCacheStats) {
  const gauge = (name: string, help: string, read: () => number) =>
    new prom.Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  // The cache keeps the totals; a scrape copies them.
  const total = (name: string, help: string, read: () => number) =>
    new prom.Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  gauge(names.size, "Sessions held by this process's local session cache", () => stats.size);
  gauge(names.max, "Sessions the local session cache holds at most", () => stats.max);
  total(names.hits, "Guarded requests answered from the local session cache", () => stats.hits);
  total(names.misses, "Guarded requests the local session cache sent to the store", () => stats.misses);
  gauge(names.ratio, "Hits over lookups of the local session cache since start (0 before the first)", () => {
    const lookups = stats.hits + stats.misses;
    return lookups === 0 ? 0 : stats.hits / lookups;
  });
  gauge(names.subscribed, "1 while the local session cache follows revocations, else 0 (it is bypassed)", () => (stats.subscribed ? 1 : 0));
}
