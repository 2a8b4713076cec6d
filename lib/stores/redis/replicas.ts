/**
 * Waiting for replicas: after a login or a revocation the store can ask
 * Redis (`WAIT`) to confirm that replicas hold the write, so a failover to
 * a replica cannot bring a revoked session back or lose a new one. Off by
 * default; a shortfall is reported, not an error (the write is done on
 * the master either way), unless the app's callback throws. `WAIT` counts
 * the writes of the connection it is sent on, so it must follow the write
 * on that connection: on a standalone or Sentinel client it is the next
 * command ({@link ReplicaWaiter}); on a Cluster it travels in the write's
 * own pipeline (`cluster-wait.ts`).
 *
 * @module
 */
import { parseDuration, type Duration } from "../../duration.js";
import { warnOnce } from "../../warnings.js";
import { clientCommandTimeout, type RedisClient } from "./client.js";

/**
 * The `waitForReplicas` option of `RedisStore`.
 *
 * @example
 * ```ts
 * const waitForReplicas: WaitForReplicasOptions = { replicas: 1, timeout: "100ms" };
 * new RedisStore({ client, waitForReplicas });
 * ```
 */
export interface WaitForReplicasOptions {
  /** Replicas that must acknowledge each login and revocation. */
  replicas: number;
  /** How long to wait for them, e.g. `"100ms"`. */
  timeout: Duration;
}

/**
 * What `RedisStore`'s `onReplicaShortfall` is told.
 *
 * @example
 * ```ts
 * new RedisStore({
 *   client,
 *   waitForReplicas: { replicas: 1, timeout: "100ms" },
 *   onReplicaShortfall: ({ operation, wanted, acknowledged }: ReplicaShortfall) =>
 *     logger.warn({ operation, wanted, acknowledged }, "Redis replicas behind"),
 * });
 * ```
 */
export interface ReplicaShortfall {
  /** The store operation whose write fewer replicas acknowledged: `create`, `revoke`, `revokeAll`, `revokeByRefresh`, `rotate`. */
  operation: string;
  wanted: number;
  acknowledged: number;
}

/** The resolved option, with what to do on a shortfall. */
export interface ReplicaWait {
  replicas: number;
  timeout: number;
  onShortfall(shortfall: ReplicaShortfall): void;
}

/** Validates `waitForReplicas` (a `TypeError` naming the option); `undefined` when off. */
export function resolveReplicaWait(
  value: WaitForReplicasOptions | undefined,
  onShortfall: ((shortfall: ReplicaShortfall) => void) | undefined,
  scope: object,
): ReplicaWait | undefined {
  if (onShortfall !== undefined && typeof onShortfall !== "function") {
    throw new TypeError("RedisStore: `onReplicaShortfall` must be a function ({ operation, wanted, acknowledged }) => void");
  }
  if (value === undefined) {
    if (onShortfall !== undefined) throw new TypeError("RedisStore: `onReplicaShortfall` needs `waitForReplicas`");
    return undefined;
  }
  if (value === null || typeof value !== "object") {
    throw new TypeError('RedisStore: `waitForReplicas` must be { replicas, timeout }, e.g. { replicas: 1, timeout: "100ms" }');
  }
  for (const name of Object.keys(value)) {
    if (name !== "replicas" && name !== "timeout") throw new TypeError(`RedisStore: unknown option \`waitForReplicas.${name}\``);
  }
  const { replicas } = value;
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new TypeError("RedisStore: `waitForReplicas.replicas` must be a whole number of at least 1");
  const timeout = parseDuration("waitForReplicas.timeout", value.timeout);
  return {
    replicas,
    timeout,
    onShortfall:
      onShortfall ??
      ((s) =>
        warnOnce(
          "SESSION_GUARD_REDIS_REPLICAS_BEHIND",
          `Only ${s.acknowledged} of ${s.wanted} Redis replicas acknowledged a ${s.operation} within ${timeout} ms: a failover now could ` +
            "lose a new session or bring a revoked one back. Check the replicas' link to the master (INFO replication).",
          scope,
        )),
  };
}

/**
 * A `WAIT` that finds too few replicas blocks for its whole timeout; a
 * command timeout that is not longer fails it as a timed-out command, and
 * the login or logout with it answers 503 instead of reporting the
 * shortfall. Refused (`TypeError`) for the store's own client, whose
 * `commandTimeout` is the store's option; warned about (once per client)
 * for a given one.
 */
export function checkWaitFitsCommandTimeout(wait: ReplicaWait, client: RedisClient | undefined, ownCommandTimeout: number): void {
  if (client === undefined) {
    if (wait.timeout >= ownCommandTimeout) {
      throw new TypeError(
        `RedisStore: \`waitForReplicas.timeout\` (${wait.timeout} ms) must be shorter than \`commandTimeout\` (${ownCommandTimeout} ms), ` +
          "or a WAIT that finds too few replicas fails as a timed-out command",
      );
    }
    return;
  }
  const commandTimeout = clientCommandTimeout(client);
  if (commandTimeout !== undefined && commandTimeout <= wait.timeout) {
    warnOnce(
      "SESSION_GUARD_REDIS_WAIT_TIMEOUT",
      `The Redis client given to RedisStore has a commandTimeout (${commandTimeout} ms) no longer than waitForReplicas.timeout ` +
        `(${wait.timeout} ms): a WAIT that finds too few replicas fails as a timed-out command, and the login or logout with it ` +
        "answers 503 instead of reporting the shortfall. Give the client a longer commandTimeout, or waitForReplicas a shorter timeout.",
      client,
    );
  }
}

/**
 * Waits for replicas after the writes of one client: a `WAIT` on the same
 * connection after each write's reply, and a shortfall reported.
 *
 * `WAIT` vouches only for the writes of the connection it arrives on, and
 * ioredis re-sends a command left unanswered by a lost connection on the
 * next one (a failover's new master, say), where this client wrote nothing
 * and `WAIT` answers at once. So the waiter counts the client's lost
 * connections, from before each write is sent ({@link mark}), and a write
 * whose connection was lost before its `WAIT` was answered counts as held
 * by no replica.
 *
 * While replicas are behind, each `WAIT` takes its whole timeout and holds
 * the connection, and the guard's checks share it. So writes share `WAIT`s:
 * one `WAIT` vouches for every write its connection made before it, so the
 * writes confirmed while one is out all wait for the next one, sent as soon
 * as it is answered. A check then waits behind at most about two timeouts,
 * however many logins and logouts run at once.
 */
export class ReplicaWaiter {
  readonly #client: RedisClient;
  readonly #wait: ReplicaWait;
  /** Connections of the client lost so far. */
  #losses = 0;
  /** The `WAIT` sent and not answered yet. */
  #inFlight: Promise<unknown> | undefined;
  /** The next `WAIT`, which writes confirmed now join; sent once {@link #inFlight} is answered. */
  #next: Promise<number> | undefined;
  readonly #onClose = (): void => {
    this.#losses++;
  };

  constructor(client: RedisClient, wait: ReplicaWait) {
    this.#client = client;
    this.#wait = wait;
    client.on("close", this.#onClose);
  }

  /** Taken right before a write is sent; given back to {@link confirm}. */
  mark(): number {
    return this.#losses;
  }

  /**
   * Call once the write's reply arrived; resolves when a `WAIT` sent after
   * it was answered. A shortfall callback that throws rejects it (and so
   * fails the store call): that is how an app refuses to confirm a write a
   * failover may lose.
   */
  async confirm(operation: string, mark: number): Promise<void> {
    const acknowledged = await (this.#next ??= this.#nextWait());
    reportShortfall(this.#wait, operation, this.#losses === mark ? acknowledged : 0);
  }

  async #nextWait(): Promise<number> {
    await this.#inFlight;
    // From here on, writes confirmed join the round after this one.
    this.#next = undefined;
    const sent = this.#client.call("WAIT", this.#wait.replicas, this.#wait.timeout);
    this.#inFlight = sent.then(
      () => undefined,
      () => undefined,
    );
    return Number(await sent);
  }

  /** Stops following the client's connection. */
  close(): void {
    this.#client.off("close", this.#onClose);
  }
}

/** Tells `onShortfall` when fewer replicas than wanted acknowledged `operation`'s write (a callback that throws fails the call). */
export function reportShortfall(wait: ReplicaWait, operation: string, acknowledged: number): void {
  if (acknowledged < wait.replicas) wait.onShortfall({ operation, wanted: wait.replicas, acknowledged });
}
