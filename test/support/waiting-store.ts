/**
 * A `RedisStore` with `waitForReplicas` whose shortfalls a test reads back
 * (the array fills as the store reports them), for the replica tests.
 *
 * @module
 */
import { RedisStore, type RedisClient, type ReplicaShortfall, type WaitForReplicasOptions } from "../../lib/index.js";

export function waitingStore(
  client: RedisClient,
  prefix: string,
  waitForReplicas: WaitForReplicasOptions,
): { store: RedisStore; shortfalls: ReplicaShortfall[] } {
  const shortfalls: ReplicaShortfall[] = [];
  const store = new RedisStore({ client, prefix, waitForReplicas, onReplicaShortfall: (s) => shortfalls.push(s) });
  return { store, shortfalls };
}
