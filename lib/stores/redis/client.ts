/**
 * The Redis client side of the store: the client type it accepts, the
 * client it makes from a URL (with settings that cannot hang a request),
 * waiting for it to connect, and the warnings about settings of a client it
 * was given (offline queue, no command timeout, auto-pipelining on a
 * Cluster) or of Redis itself (`maxmemory-policy`).
 *
 * @module
 */
import { requireOptionalPeer } from "../../optional-peer.js";
import { warnOnce } from "../../warnings.js";

/**
 * What {@link RedisStore} needs of a Redis client. An ioredis `Redis` or
 * `Cluster` fits; the type is declared here so that the package's types
 * never depend on ioredis, which projects using only `MemoryStore` do not
 * install.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * const client: RedisClient = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { enableOfflineQueue: false });
 * ```
 */
export interface RedisClient {
  /** ioredis' connection state: `"ready"` once commands go out. */
  readonly status: string;
  /** The options the client was made with (read for the warnings). */
  readonly options?: object;
  /** `true` on an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  evalsha(sha1: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  config(subcommand: "GET", parameter: string): Promise<unknown>;
  /** Any command (the store sends `WAIT` this way). */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: "ready" | "close" | "end" | "error", listener: (...args: unknown[]) => void): unknown;
  once(event: "ready" | "close" | "end" | "error", listener: (...args: unknown[]) => void): unknown;
  off(event: "ready" | "close" | "end" | "error", listener: (...args: unknown[]) => void): unknown;
}

/** Settings of the client made from a URL, besides its `commandTimeout`. */
const OWNED_CLIENT_SETTINGS = {
  enableOfflineQueue: false,
  // No enableAutoPipelining: the store batches the script calls of one
  // event-loop turn itself (batch.ts), which measured faster than ioredis'
  // auto-pipelining in `npm run bench`.
  maxRetriesPerRequest: 1,
  retryStrategy: (times: number) => Math.min(times * 100, 2000),
  lazyConnect: false,
} as const;

type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClient;

/** The installed ioredis package's `Redis` and `Cluster`, or a `TypeError` that says what to install. */
export function ioredis(): { Redis: unknown; Cluster: unknown } {
  const mod = requireOptionalPeer(
    "ioredis",
    "RedisStore: `url` needs the ioredis package, which is not installed. Run `npm install ioredis`, or give a `client`, or use MemoryStore.",
  ) as { Redis?: unknown; Cluster?: unknown; default?: unknown };
  const RedisClass = mod.Redis ?? mod.default;
  if (typeof RedisClass !== "function") throw new TypeError("RedisStore: the installed ioredis package does not export a Redis client");
  return { Redis: RedisClass, Cluster: mod.Cluster };
}

/** Makes the store's own client for `url` (connecting in the background); throws when ioredis is not installed. */
export function createClient(url: string, commandTimeout: number): RedisClient {
  const RedisClass = ioredis().Redis as RedisConstructor;
  const client = new RedisClass(url, { ...OWNED_CLIENT_SETTINGS, commandTimeout });
  // The client's own error events (reconnect attempts) must not crash the
  // process; the failures reach callers as rejected commands.
  client.on("error", () => {});
  return client;
}

/** Waits until a client that has not connected yet is ready, or `ms` passed, or it ended. */
export function firstReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status !== "wait" && client.status !== "connecting" && client.status !== "connect") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off("ready", done);
      client.off("end", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once("ready", done);
    client.once("end", done);
  });
}

/** Warns (once per client) about settings of a given client that can hang a request. */
export function warnAboutClient(client: RedisClient): void {
  const cluster = (client as { isCluster?: boolean }).isCluster === true;
  const options = (client.options ?? {}) as {
    enableOfflineQueue?: boolean;
    enableAutoPipelining?: boolean;
  };
  if (options.enableOfflineQueue !== false) {
    warnOnce(
      "SESSION_GUARD_REDIS_OFFLINE_QUEUE",
      "The Redis client given to RedisStore has its offline queue on (enableOfflineQueue is not false): while Redis is down, " +
        "session checks wait in the queue instead of failing fast. Create the client with { enableOfflineQueue: false }.",
      client,
    );
  }
  if (cluster && options.enableAutoPipelining === true) {
    warnOnce(
      "SESSION_GUARD_REDIS_CLUSTER_AUTO_PIPELINING",
      "The Redis Cluster client given to RedisStore has enableAutoPipelining on: when a slot moves, ioredis hands a batched " +
        "command's MOVED error back instead of following it, so session checks, logouts and refreshes fail until its slot map " +
        "is refreshed. Create the Cluster without enableAutoPipelining (the store batches a standalone client's commands itself, and never a Cluster's).",
      client,
    );
  }
  if (
    cluster &&
    (options as { scaleReads?: unknown }).scaleReads !== undefined &&
    (options as { scaleReads?: unknown }).scaleReads !== "master"
  ) {
    warnOnce(
      "SESSION_GUARD_REDIS_REPLICA_READS",
      'The Redis Cluster client given to RedisStore reads from replicas (scaleReads is not "master"): a lagging replica would ' +
        'accept a session that was just revoked. Create the Cluster with { scaleReads: "master" } (its default).',
      client,
    );
  }
  if (clientCommandTimeout(client) === undefined) {
    warnOnce(
      "SESSION_GUARD_REDIS_NO_COMMAND_TIMEOUT",
      "The Redis client given to RedisStore sets no commandTimeout: a paused or slow Redis can leave a request waiting. " +
        (cluster
          ? "Create the Cluster with { redisOptions: { commandTimeout: 1000 } }."
          : "Create the client with { commandTimeout: 1000 } (milliseconds)."),
      client,
    );
  }
}

/** The `commandTimeout` of an ioredis client (on a Cluster, of its nodes' connections), when it sets one. */
export function clientCommandTimeout(client: RedisClient): number | undefined {
  const options = (client.options ?? {}) as { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } };
  const timeout = client.isCluster === true ? options.redisOptions?.commandTimeout : options.commandTimeout;
  return typeof timeout === "number" && timeout > 0 ? timeout : undefined;
}

/**
 * Asks Redis for its `maxmemory-policy` and warns (once per `scope`) when it
 * can evict keys that have a TTL (all of ours do). Never rejects: resolves
 * to `true` when Redis answered (with the policy, or with an error reply
 * such as CONFIG being disabled), `false` when the command failed without an
 * answer (the client was not ready, the connection dropped, a timeout), so
 * it can be sent again.
 */
export function checkEvictionPolicy(client: RedisClient, scope: object): Promise<boolean> {
  let pending: Promise<unknown>;
  try {
    pending = client.config("GET", "maxmemory-policy");
  } catch {
    return Promise.resolve(false);
  }
  return pending.then(
    (reply) => {
      const policy = Array.isArray(reply) ? reply[1] : undefined;
      if (typeof policy === "string" && policy !== "noeviction") {
        warnOnce(
          "SESSION_GUARD_REDIS_EVICTION_POLICY",
          `Redis runs with maxmemory-policy ${policy}: under memory pressure it can evict live sessions (every session key has a TTL), ` +
            "logging users out, or drop an index so that a global logout misses sessions. Set maxmemory-policy to noeviction.",
          scope,
        );
      }
      return true;
    },
    // ioredis rejects with a ReplyError when Redis answered with an error.
    (err: unknown) => err instanceof Error && err.name === "ReplyError",
  );
}
