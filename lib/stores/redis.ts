/**
 * The Redis store: every operation is one Lua script (see `scripts/*.lua`,
 * whose headers document KEYS, ARGV and replies), run with `EVALSHA` and
 * falling back to `EVAL` when Redis answers `NOSCRIPT`. All keys of a user
 * share one hash slot, so it works the same on a Redis Cluster. This file is
 * the store's lifecycle and its operations' arguments; the record format,
 * the script runner and the client setup live in `redis/`.
 *
 * @module
 */
import { indexKey, sessionKey, userKeyBase } from "./keys.js";
import { checkEvictionPolicy, createClient, firstReady, warnAboutClient, type RedisClient } from "./redis/client.js";
import { canPipelineWait, runScriptThenWait, type PipeliningCluster } from "./redis/cluster-wait.js";
import { canSubscribe, subscribeInvalidations } from "./redis/invalidations.js";
import { pack, storedDigest, unpack, unpackChecked } from "./redis/record-codec.js";
import {
  checkWaitFitsCommandTimeout,
  ReplicaWaiter,
  reportShortfall,
  resolveReplicaWait,
  type ReplicaShortfall,
  type ReplicaWait,
  type WaitForReplicasOptions,
} from "./redis/replicas.js";
import { needsBatching, ScriptBatcher, type BatchingClient } from "./redis/batch.js";
import { runScript, SCRIPTS, type Script, type ScriptArgs, type ScriptClient } from "./redis/scripts.js";
import type {
  CreateInput,
  InvalidationFeed,
  InvalidationListener,
  RefreshLogoutResult,
  RotateInput,
  RotateResult,
  SessionRecord,
  Store,
} from "./store.js";

/**
 * Options of {@link RedisStore}: give exactly one of `client` and `url`.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * // Your own client (never closed by the store); the store batches its commands itself:
 * new RedisStore({ client: new Redis(url, { enableOfflineQueue: false, commandTimeout: 1000 }) });
 * // Or a client the store creates with safe settings, and closes in close():
 * new RedisStore({ url: "redis://localhost:6379", prefix: "myapp:sg:" });
 * ```
 */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` client. The store never closes nor
   * reconfigures it; it warns once when its options can hang a request
   * (offline queue on, no `commandTimeout`). A standalone or Sentinel
   * client without `enableAutoPipelining` gets the script calls of one
   * event-loop turn as one pipeline, batched by the store.
   */
  client?: RedisClient;
  /**
   * A Redis URL (`redis://…`, `rediss://…`): the store creates its own
   * client with settings that cannot hang a request (no offline queue, a
   * command timeout, bounded retries) and closes it in `close()`. Needs the
   * `ioredis` package installed: the constructor throws when it is not.
   */
  url?: string;
  /** Prefix of every key. Default `"sg:"`. Must not contain `{` or `}`. */
  prefix?: string;
  /** Milliseconds before a command of the client made from `url` fails. Default `1000`. Only with `url`. */
  commandTimeout?: number;
  /**
   * After each login and each revocation, wait (Redis `WAIT`) until this
   * many replicas hold the write, at most `timeout`: then a failover to a
   * replica cannot lose the session or bring a revoked one back. Off by
   * default. On a standalone or Sentinel client `WAIT` follows the write as
   * one more round trip; on a Cluster it goes in one pipeline with the
   * write's script to the master that takes it (with every refresh too,
   * since a refresh may detect reuse and revoke).
   * `timeout` must be shorter than the client's command timeout, which a
   * `WAIT` that finds too few replicas waits out.
   */
  waitForReplicas?: WaitForReplicasOptions;
  /**
   * Told when fewer replicas acknowledged a write in time; by default a
   * one-time `SESSION_GUARD_REDIS_REPLICAS_BEHIND` warning. A callback that
   * throws fails the call (`store_unavailable`, 503): the write is on the
   * master, but a failover may lose it, so a logout is not confirmed and the
   * client tries again.
   */
  onReplicaShortfall?: (shortfall: ReplicaShortfall) => void;
}

const OPTION_NAMES = new Set(["client", "url", "prefix", "commandTimeout", "waitForReplicas", "onReplicaShortfall"]);
const DEFAULT_COMMAND_TIMEOUT = 1000;
/**
 * Sends of the one-time `maxmemory-policy` check that may fail without an
 * answer from Redis (client not ready yet, connection lost, timeout) before
 * the store gives up on it. An error reply (CONFIG disabled or renamed, as
 * on some managed Redis) is an answer: the check is then done.
 */
const POLICY_CHECK_SENDS = 3;

/**
 * A {@link Store} in Redis (standalone or Cluster, through ioredis). Each
 * operation is a single atomic Lua script and a single round trip; every key
 * carries a TTL at its session's deadline (none only where a forever session
 * lives). Keys: `<prefix>{<base64url user id>}:s:<sid>` (one packed string
 * per session, see `redis/record-codec.ts`)
 * and `<prefix>{<base64url user id>}:i` (the user's index, a sorted set).
 *
 * Store errors (connection refused, timeouts, script errors) reject the
 * returned promise; nothing is logged.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { sessionGuard, RedisStore } from "session-guard";
 *
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, commandTimeout: 1000 });
 * const guard = sessionGuard({ store: new RedisStore({ client: redis }), secret: process.env.SESSION_SECRET });
 * // or let the store own its client: new RedisStore({ url: process.env.REDIS_URL! })
 * ```
 */
export class RedisStore implements Store {
  readonly #prefix: string;
  /** Where every revocation is published, from the script that makes it (`scripts/include/invalidate.lua`). */
  readonly #channel: string;
  readonly #client: RedisClient;
  /** Whether the store made the client from `url` (and so closes it). */
  readonly #owned: boolean;
  readonly #commandTimeout: number;
  readonly #replicaWait: ReplicaWait | undefined;
  /** Sends a plain client's script calls of one event-loop turn as one pipeline (see `redis/batch.ts`). */
  readonly #batcher: ScriptBatcher | undefined;
  /** Whether `WAIT` goes in the write's pipeline (a Cluster) rather than after it. */
  readonly #waitInPipeline: boolean;
  /** With `waitForReplicas` on a standalone or Sentinel client: waits for them after each login and revocation. */
  readonly #replicas: ReplicaWaiter | undefined;
  /** Whether the maxmemory-policy check is to be sent beside the next command. */
  #policyCheckDue: boolean;
  /** Sends of that check that failed without an answer from Redis (see {@link POLICY_CHECK_SENDS}). */
  #policyCheckFailures = 0;
  #closed = false;
  /** Subscriptions opened by {@link subscribeInvalidations}, closed with the store. */
  readonly #feeds = new Set<InvalidationFeed>();

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError("RedisStore: options must be an object, e.g. { client } or { url }");
    }
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) {
        throw new TypeError(`RedisStore: unknown option \`${name}\` (known: ${[...OPTION_NAMES].join(", ")})`);
      }
    }
    const { client, url, prefix = "sg:", commandTimeout } = options;
    if (client !== undefined && url !== undefined) {
      throw new TypeError("RedisStore: give either `client` or `url`, not both");
    }
    if (client === undefined && url === undefined) {
      throw new TypeError("RedisStore: give `client` (an ioredis Redis or Cluster) or `url` (a redis:// URL)");
    }
    if (
      client !== undefined &&
      (client === null || typeof client !== "object" || typeof (client as { evalsha?: unknown }).evalsha !== "function")
    ) {
      throw new TypeError("RedisStore: `client` must be an ioredis Redis or Cluster client");
    }
    if (url !== undefined && (typeof url !== "string" || url.length === 0)) {
      throw new TypeError('RedisStore: `url` must be a non-empty string such as "redis://localhost:6379"');
    }
    if (typeof prefix !== "string" || prefix.length === 0 || prefix.includes("{") || prefix.includes("}")) {
      throw new TypeError("RedisStore: `prefix` must be a non-empty string without `{` or `}` (the store adds its own hash tags)");
    }
    if (commandTimeout !== undefined) {
      if (client !== undefined) {
        throw new TypeError("RedisStore: `commandTimeout` applies only with `url`; set `commandTimeout` on your own client instead");
      }
      if (typeof commandTimeout !== "number" || !Number.isFinite(commandTimeout) || commandTimeout <= 0) {
        throw new TypeError("RedisStore: `commandTimeout` must be a positive number of milliseconds");
      }
    }
    this.#replicaWait = resolveReplicaWait(options.waitForReplicas, options.onReplicaShortfall, this);
    this.#waitInPipeline = this.#replicaWait !== undefined && client?.isCluster === true;
    if (this.#waitInPipeline && !canPipelineWait(client!)) {
      throw new TypeError("RedisStore: `waitForReplicas` on a Cluster needs an ioredis `Cluster` client (one with `pipeline()`)");
    }
    if (this.#replicaWait) checkWaitFitsCommandTimeout(this.#replicaWait, client, commandTimeout ?? DEFAULT_COMMAND_TIMEOUT);
    this.#prefix = prefix;
    this.#channel = `${prefix}invalidations`;
    this.#commandTimeout = commandTimeout ?? DEFAULT_COMMAND_TIMEOUT;
    this.#policyCheckDue = true;
    this.#owned = client === undefined;
    if (client !== undefined) {
      this.#client = client;
      warnAboutClient(client);
    } else {
      this.#client = createClient(url!, this.#commandTimeout);
    }
    this.#batcher = needsBatching(this.#client) ? new ScriptBatcher(this.#client as unknown as BatchingClient) : undefined;
    this.#replicas = this.#replicaWait && !this.#waitInPipeline ? new ReplicaWaiter(this.#client, this.#replicaWait) : undefined;
  }

  /**
   * Runs one script. A command for the store's own client while it still
   * connects waits for it (at most the command timeout), since that client
   * has no offline queue to hold it.
   */
  #run(script: Script, args: ScriptArgs, raw = false): Promise<unknown> {
    const client = this.#client;
    if (this.#owned && client.status !== "ready") {
      if (this.#closed) return Promise.reject(new Error("RedisStore is closed"));
      return firstReady(client, this.#commandTimeout).then(() => this.#send(client, script, args, raw));
    }
    return this.#send(client, script, args, raw);
  }

  #send(client: RedisClient, script: Script, args: ScriptArgs, raw: boolean): Promise<unknown> {
    if (this.#policyCheckDue) this.#checkPolicy(client);
    if (this.#batcher !== undefined) return this.#batcher.run(script, args, raw);
    return runScript(client as unknown as ScriptClient, script, args, raw);
  }

  /**
   * Runs a script that may write a login or a revocation; with
   * `waitForReplicas`, waits for the replicas when `wrote(reply)` says it
   * did (see {@link RedisStoreOptions.waitForReplicas}).
   */
  async #write(operation: string, script: Script, args: ScriptArgs, raw: boolean, wrote: (reply: unknown) => boolean): Promise<unknown> {
    const wait = this.#replicaWait;
    if (wait === undefined) return this.#run(script, args, raw);
    if (this.#waitInPipeline) {
      if (this.#policyCheckDue) this.#checkPolicy(this.#client);
      const { reply, acknowledged, waitError } = await runScriptThenWait(
        this.#client as unknown as PipeliningCluster,
        script,
        args,
        raw,
        wait,
      );
      if (wrote(reply)) {
        if (waitError !== null) throw waitError;
        reportShortfall(wait, operation, acknowledged);
      }
      return reply;
    }
    const replicas = this.#replicas!;
    const mark = replicas.mark();
    const reply = await this.#run(script, args, raw);
    if (wrote(reply)) await replicas.confirm(operation, mark);
    return reply;
  }

  /**
   * Sends the `maxmemory-policy` check beside the command about to be sent
   * (never waited for: no extra round trip). It is done once Redis answered
   * it, even with an error; a send that failed on the connection is retried
   * with a later command, at most {@link POLICY_CHECK_SENDS} sends in all.
   */
  #checkPolicy(client: RedisClient): void {
    this.#policyCheckDue = false;
    void checkEvictionPolicy(client, this).then((answered) => {
      if (!answered && ++this.#policyCheckFailures < POLICY_CHECK_SENDS) this.#policyCheckDue = true;
    });
  }

  async create(input: CreateInput): Promise<string[]> {
    const r = input.record;
    const base = userKeyBase(this.#prefix, r.userId);
    const reply = await this.#write(
      "create",
      SCRIPTS.create,
      [
        sessionKey(base, r.id),
        indexKey(base),
        sessionKey(base, ""),
        input.now,
        r.id,
        input.maxSessions ?? "",
        pack(r, storedDigest(input.refreshHash)),
        this.#channel,
      ],
      false,
      always,
    );
    return reply as string[];
  }

  /** The record it resolves to has `claims`, `ip` and `userAgent` `""` (see {@link Store.check}); its `data` is decoded when first read. */
  async check(userId: string, sessionId: string, now: number, touchInterval: number): Promise<SessionRecord | null> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = (await this.#run(SCRIPTS.check, [sessionKey(base, sessionId), indexKey(base), now, touchInterval, sessionId], true)) as
      Buffer | [Buffer, Buffer] | null;
    return reply === null ? null : unpackChecked(reply, sessionId, userId);
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const base = userKeyBase(this.#prefix, input.userId);
    const reply = (await this.#write(
      "rotate",
      SCRIPTS.rotate,
      [
        sessionKey(base, input.sessionId),
        indexKey(base),
        input.now,
        input.sessionId,
        input.generation,
        storedDigest(input.presentedHash),
        storedDigest(input.successorHash),
        input.reuseWindow,
        input.ip,
        input.userAgent,
        this.#channel,
      ],
      true,
      rotateRevoked,
    )) as number | [number, Buffer];
    return toRotateResult(reply, input.sessionId, input.userId);
  }

  async revokeByRefresh(
    userId: string,
    sessionId: string,
    generation: number,
    presentedHash: string,
    now: number,
    reuseWindow: number,
  ): Promise<RefreshLogoutResult> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = await this.#write(
      "revokeByRefresh",
      SCRIPTS.revokeByRefresh,
      [sessionKey(base, sessionId), indexKey(base), now, sessionId, generation, storedDigest(presentedHash), reuseWindow, this.#channel],
      false,
      refreshLogoutRevoked,
    );
    // Status codes of revoke-by-refresh-2.lua (see its header).
    return reply === 1 ? "ended" : reply === 3 ? "reused" : "invalid";
  }

  async get(userId: string, sessionId: string, now: number): Promise<SessionRecord | null> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = (await this.#run(SCRIPTS.get, [sessionKey(base, sessionId), indexKey(base), now, sessionId], true)) as Buffer | null;
    return reply === null ? null : unpack(reply, sessionId, userId);
  }

  async list(userId: string, now: number): Promise<SessionRecord[]> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = (await this.#run(SCRIPTS.list, [indexKey(base), sessionKey(base, ""), now], true)) as Buffer[];
    const records: SessionRecord[] = [];
    for (let i = 0; i + 2 <= reply.length; i += 2) records.push(unpack(reply[i + 1], reply[i].toString("utf8"), userId));
    return records;
  }

  async revoke(userId: string, sessionId: string, now: number): Promise<boolean> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = await this.#write(
      "revoke",
      SCRIPTS.revoke,
      [sessionKey(base, sessionId), indexKey(base), now, sessionId, this.#channel],
      false,
      revoked,
    );
    return reply === 1;
  }

  async revokeAll(userId: string, exceptId: string | undefined, now: number): Promise<string[]> {
    const base = userKeyBase(this.#prefix, userId);
    return (await this.#write(
      "revokeAll",
      SCRIPTS.revokeAll,
      [indexKey(base), sessionKey(base, ""), now, exceptId ?? "", this.#channel],
      false,
      revokedAny,
    )) as string[];
  }

  /**
   * Follows every revocation published on this store's channel
   * (`<prefix>invalidations`) through its own subscriber connection, closed
   * by the feed's `close()` and by the store's. Needs an ioredis client
   * (it opens the connection with `duplicate()`, or on a Cluster with one
   * of its nodes'); the account needs the right to SUBSCRIBE to the channel.
   */
  subscribeInvalidations(listener: InvalidationListener): InvalidationFeed {
    if (this.#closed) throw new Error("RedisStore is closed");
    if (!canSubscribe(this.#client)) {
      throw new TypeError("RedisStore: following revocations needs an ioredis `Redis` or `Cluster` client (one with `duplicate()`)");
    }
    const feed = subscribeInvalidations(this.#client, this.#channel, listener);
    this.#feeds.add(feed);
    return {
      close: () => {
        this.#feeds.delete(feed);
        return feed.close();
      },
    };
  }

  /** Quits the client the store made from `url`; a client given to it is left open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#replicas?.close();
    await Promise.all([...this.#feeds].map((feed) => feed.close()));
    this.#feeds.clear();
    if (!this.#owned) return;
    const client = this.#client;
    if (client.status === "end") return;
    try {
      if (client.status === "ready") {
        await client.quit();
        return;
      }
    } catch {
      // fall through to a hard disconnect
    }
    client.disconnect();
  }
}

// Which replies of the writing scripts wrote what `waitForReplicas` waits
// for (status codes as in each script's header).
const always = (): boolean => true;
/** rotate-2.lua: 3, reuse detected (the session revoked). */
const rotateRevoked = (reply: unknown): boolean => Array.isArray(reply) && reply[0] === 3;
/** revoke-by-refresh-2.lua: 1 ended, 3 reuse detected. */
const refreshLogoutRevoked = (reply: unknown): boolean => reply === 1 || reply === 3;
/** revoke-2.lua: 1, the session ended. */
const revoked = (reply: unknown): boolean => reply === 1;
/** revoke-all-2.lua: the ids ended. */
const revokedAny = (reply: unknown): boolean => (reply as string[]).length > 0;

/** Maps rotate-2.lua's status codes (see its header) to a {@link RotateResult}. */
function toRotateResult(reply: number | [number, Buffer], id: string, userId: string): RotateResult {
  if (typeof reply === "number") return { status: "invalid" };
  const [code, value] = reply;
  const status = code === 1 ? "rotated" : code === 2 ? "repeated" : code === 3 ? "reused" : undefined;
  if (status === undefined) throw new Error(`RedisStore: unexpected rotate reply code ${String(code)}`);
  return { status, record: unpack(value, id, userId) };
}
