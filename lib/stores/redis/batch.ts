/**
 * The store's own batching of script calls for a client that does not batch
 * itself: a standalone or Sentinel ioredis `Redis` without
 * `enableAutoPipelining` gets the script calls of one event-loop turn as one
 * `pipeline()` (one write, one read of the replies), each caller settled with
 * its own reply or error exactly as if its command had gone alone. It mirrors
 * ioredis' own auto-pipelining (`built/autoPipelining.js`): flushed on
 * `setImmediate`, one pipeline in flight at a time, the calls made meanwhile
 * sent as the next one as soon as it is answered.
 *
 * Never for a Cluster: ioredis hands a batched command's `MOVED` back instead
 * of following it. The client is never reconfigured.
 *
 * @module
 */
import type { RedisClient } from "./client.js";
import { isNoScript, sendScript, type Script, type ScriptArgs, type ScriptClient, type ScriptPipeline } from "./scripts.js";

/** A client whose script calls the store batches. */
export interface BatchingClient extends ScriptClient {
  pipeline(): ScriptPipeline;
}

/**
 * Whether the store batches this client's script calls itself: an ioredis
 * `Redis` (it has `pipeline()`, and is no Cluster) whose own auto-pipelining
 * is off.
 */
export function needsBatching(client: RedisClient): boolean {
  if (client.isCluster === true) return false;
  if (typeof (client as { pipeline?: unknown }).pipeline !== "function") return false;
  return (client.options as { enableAutoPipelining?: unknown } | undefined)?.enableAutoPipelining !== true;
}

/** One script call waiting for the next flush. */
interface Pending {
  script: Script;
  args: ScriptArgs;
  raw: boolean;
  /** Send the source with `EVAL` (Redis answered `NOSCRIPT` to its `EVALSHA`). */
  whole: boolean;
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

/** Collects the script calls of one event-loop turn and sends them as one pipeline. */
export class ScriptBatcher {
  readonly #client: BatchingClient;
  #queue: Pending[] = [];
  /** A flush is scheduled on `setImmediate`. */
  #scheduled = false;
  /** A batch was sent and is not answered yet; calls made meanwhile wait for it. */
  #inFlight = false;

  constructor(client: BatchingClient) {
    this.#client = client;
  }

  /** Runs one script as `runScript` (`scripts.ts`) does, in the next batch: `EVALSHA`, then `EVAL` in a later batch on `NOSCRIPT`. */
  run(script: Script, args: ScriptArgs, raw: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => this.#enqueue({ script, args, raw, whole: false, resolve, reject }));
  }

  #enqueue(call: Pending): void {
    this.#queue.push(call);
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    // setImmediate, not process.nextTick nor a microtask: Node drains those
    // queues after every I/O callback, and each HTTP request is read in a
    // callback of its own, so they would flush after the first request of a
    // poll phase and make the others wait behind it. setImmediate runs after
    // the whole poll phase and gathers them all (ioredis' auto-pipelining
    // does the same): at 50 connections, 26 calls per pipeline against 17.
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    this.#inFlight = true;
    let replies: Promise<[Error | null, unknown][] | null>;
    // A client that throws instead of rejecting (a wrapper, say) must fail
    // the batch's callers, not this setImmediate callback and every later call.
    try {
      if (batch.length === 1) {
        // Alone, a plain command costs less than a pipeline and writes the same.
        const call = batch[0];
        replies = sendScript(this.#client, call.script, call.args, call.raw, call.whole).then(
          (reply): [Error | null, unknown][] => [[null, reply]],
          (err: unknown): [Error | null, unknown][] => [[err as Error, undefined]],
        );
      } else {
        const pipeline = this.#client.pipeline();
        for (const call of batch) sendScript(pipeline, call.script, call.args, call.raw, call.whole);
        replies = pipeline.exec();
      }
    } catch (err) {
      replies = Promise.reject(err);
    }
    replies.then(
      (results) => this.#settle(batch, results),
      (err: unknown) => this.#settle(batch, null, err),
    );
  };

  /**
   * Settles each call of an answered batch with its own reply or error; a
   * `NOSCRIPT` sends the call again whole. Then sends what queued meanwhile.
   */
  #settle(batch: Pending[], results: [Error | null, unknown][] | null, failure?: unknown): void {
    this.#inFlight = false;
    for (let i = 0; i < batch.length; i++) {
      const call = batch[i];
      const result = results?.[i];
      if (result === undefined) {
        call.reject(failure ?? new Error("RedisStore: the pipeline gave no reply for a script call"));
      } else if (result[0] === null) {
        call.resolve(result[1]);
      } else if (!call.whole && isNoScript(result[0])) {
        call.whole = true;
        this.#enqueue(call);
      } else {
        call.reject(result[0]);
      }
    }
    if (this.#queue.length > 0 && !this.#scheduled) this.#flush();
  }
}
