/**
 * The receiving end of revocation messages: one subscriber connection per
 * store, listening on the channel that every revoking script publishes to
 * (`../scripts/include/invalidate.lua`), and telling its listener what
 * ended and whether messages may have been missed.
 *
 * The listener is told `connected` only once Redis confirmed the
 * subscription, and `disconnected` as soon as the connection closes: a
 * message published in between is lost, so the listener must not trust
 * what it learnt before. On a standalone or Sentinel client the connection
 * is a `duplicate()` of the store's client and reconnects as that client
 * would (with Sentinel, to the new master). On a Cluster, where classic
 * PUBLISH reaches every node, it is a connection to one node, and to the
 * next known node when that one goes away.
 *
 * @module
 */
import type { InvalidationFeed, InvalidationListener } from "../store.js";
import type { RedisClient } from "./client.js";

/** What of an ioredis connection the subscriber uses. */
interface SubscriberConnection {
  readonly status: string;
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
  on(event: "ready" | "close" | "end" | "error", listener: () => void): unknown;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  removeAllListeners(): unknown;
}

interface Duplicable {
  duplicate(override?: Record<string, unknown>): SubscriberConnection;
}

interface ClusterClient {
  nodes(role: "all"): Duplicable[];
}

/** The subscriber resubscribes itself after every reconnection, and only once the connection is ready. */
const SUBSCRIBER_SETTINGS = { autoResubscribe: false, enableOfflineQueue: false, lazyConnect: false } as const;
/** Pause before trying another Cluster node after a failure, doubled on each failure in a row up to the maximum. */
const CLUSTER_RETRY_MS = 100;
const CLUSTER_RETRY_MAX_MS = 2000;

/** Whether `client` can open the subscriber connection (an ioredis `Redis` or `Cluster`). */
export function canSubscribe(client: RedisClient): boolean {
  const c = client as unknown as Partial<Duplicable & ClusterClient>;
  return client.isCluster === true ? typeof c.nodes === "function" : typeof c.duplicate === "function";
}

/** Opens the subscriber connection for `channel`. */
export function subscribeInvalidations(client: RedisClient, channel: string, listener: InvalidationListener): InvalidationFeed {
  const feed = new Subscriber(channel, listener);
  if (client.isCluster === true) feed.followCluster(client as unknown as ClusterClient);
  else feed.attach((client as unknown as Duplicable).duplicate(SUBSCRIBER_SETTINGS));
  return feed;
}

class Subscriber implements InvalidationFeed {
  readonly #channel: string;
  readonly #listener: InvalidationListener;
  #connection: SubscriberConnection | undefined;
  #connected = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(channel: string, listener: InvalidationListener) {
    this.#channel = channel;
    this.#listener = listener;
  }

  /** Listens on one connection; `onEnd` is told when it will not reconnect any more. */
  attach(connection: SubscriberConnection, onEnd?: () => void): void {
    this.#connection = connection;
    connection.on("ready", () => {
      connection.subscribe(this.#channel).then(
        () => {
          if (this.#connection === connection && connection.status === "ready" && !this.#closed) this.#up();
        },
        // A refused SUBSCRIBE (say, an ACL without this channel) leaves the
        // feed down: the cache stays bypassed, and the next ready retries.
        () => {},
      );
    });
    connection.on("message", (channel, message) => {
      if (channel === this.#channel && this.#connected) this.#deliver(message);
    });
    connection.on("close", () => this.#down());
    connection.on("end", () => {
      this.#down();
      if (onEnd && !this.#closed) onEnd();
    });
    // Connection errors are told by `close`; without a listener ioredis would print them.
    connection.on("error", () => {});
  }

  /**
   * Subscribes through one node of the Cluster after another, for as long
   * as the feed is open: a node that goes away is not waited for, the next
   * known one is tried (at once after a node that worked, else after a
   * pause that doubles with each failure in a row).
   */
  followCluster(cluster: ClusterClient, next = 0, failures = 0): void {
    if (this.#closed) return;
    const nodes = cluster.nodes("all");
    if (nodes.length === 0) {
      this.#retry(() => this.followCluster(cluster, next, failures + 1), failures + 1);
      return;
    }
    const connection = nodes[next % nodes.length].duplicate({ ...SUBSCRIBER_SETTINGS, retryStrategy: () => null });
    let worked = false;
    connection.on("ready", () => (worked = true));
    this.attach(connection, () => {
      connection.removeAllListeners();
      const inARow = worked ? 0 : failures + 1;
      this.#retry(() => this.followCluster(cluster, next + 1, inARow), inARow);
    });
  }

  #retry(attempt: () => void, failures: number): void {
    const pause = failures === 0 ? 0 : Math.min(CLUSTER_RETRY_MS * 2 ** (failures - 1), CLUSTER_RETRY_MAX_MS);
    this.#retryTimer = setTimeout(attempt, pause);
    this.#retryTimer.unref();
  }

  #up(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.#listener.connected();
  }

  #down(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#listener.disconnected();
  }

  /** Parses one message of `invalidate.lua`; one this version cannot read drops everything (a newer version may say more). */
  #deliver(message: string): void {
    const kind = message.slice(0, 2);
    const subject = message.slice(2);
    if (kind === "s|" && subject !== "") this.#listener.session(subject);
    else if (kind === "u|" && subject !== "") this.#listener.user(Buffer.from(subject, "base64url").toString("utf8"));
    else this.#listener.everything();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#down();
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    connection.removeAllListeners();
    connection.on("error", () => {});
    connection.disconnect();
  }
}
