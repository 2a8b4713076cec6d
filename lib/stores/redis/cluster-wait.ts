/**
 * `WAIT` on a Redis Cluster. `WAIT` has no key, so a Cluster client would
 * send it alone to a random node, whose answer says nothing of the write.
 * It must follow the write on the connection to the master that took it:
 * an ioredis Cluster pipeline sends all its commands over the connection to
 * the master of its keys' slot, so the script (whose keys pick that slot)
 * and `WAIT` go out together in one pipeline, `WAIT` last.
 *
 * ioredis retries a pipeline by itself when all its commands failed alike
 * (a closed connection), but not when only the script was redirected
 * (`MOVED`: the script did not run, `WAIT` answered, and `WAIT` is no
 * read-only command): that pipeline is sent again here once the slot map is
 * refreshed, a few times at most. Other errors (`ASK` while a slot
 * migrates, `TRYAGAIN`, `CLUSTERDOWN`) reject, as for any other store call.
 *
 * @module
 */
import type { ReplicaWait } from "./replicas.js";
import { isNoScript, sendScript, type Script, type ScriptArgs, type ScriptPipeline } from "./scripts.js";

/** What of an ioredis `Cluster` the pipelined wait uses. */
export interface PipeliningCluster {
  pipeline(): ScriptPipeline;
  refreshSlotsCache?(callback?: (err?: Error | null) => void): void;
}

/** Pipelines sent again after their script was redirected, at most. */
const REDIRECTIONS = 3;

/** Whether `client` can send a script and `WAIT` in one pipeline. */
export function canPipelineWait(client: object): client is PipeliningCluster {
  return typeof (client as Partial<PipeliningCluster>).pipeline === "function";
}

/** A `MOVED` reply: the script did not run, another master serves its slot now. */
function isMoved(err: Error): boolean {
  return err.message.startsWith("MOVED ");
}

/** Asks the Cluster client to reload its slot map; resolves when it did (or failed to). */
function refreshSlots(client: PipeliningCluster): Promise<void> {
  return new Promise((resolve) => {
    if (typeof client.refreshSlotsCache !== "function") resolve();
    else client.refreshSlotsCache(() => resolve());
  });
}

/**
 * Runs `script` and then `WAIT` for `wait.replicas` on the same master, in
 * one pipeline: resolves to the script's reply, how many replicas
 * acknowledged, and `WAIT`'s error when the script ran but `WAIT` failed
 * (the caller throws it only for a write that needed confirming); rejects
 * with the script's error. `NOSCRIPT` is answered with the script's source,
 * as the store's other calls do.
 */
export async function runScriptThenWait(
  client: PipeliningCluster,
  script: Script,
  args: ScriptArgs,
  raw: boolean,
  wait: ReplicaWait,
): Promise<{ reply: unknown; acknowledged: number; waitError: Error | null }> {
  let bySource = false;
  for (let redirections = 0; ;) {
    const results = await sendScript(client.pipeline(), script, args, raw, bySource).call("WAIT", wait.replicas, wait.timeout).exec();
    if (results === null || results.length !== 2) throw new Error("RedisStore: a script and WAIT pipeline answered no replies");
    const [[scriptError, reply], [waitError, acknowledged]] = results;
    // A failed WAIT matters only for a write that needed confirming: the caller decides.
    if (scriptError === null) return { reply, acknowledged: waitError === null ? Number(acknowledged) : 0, waitError };
    if (isNoScript(scriptError) && !bySource) {
      bySource = true;
    } else if (isMoved(scriptError) && redirections < REDIRECTIONS) {
      redirections++;
      await refreshSlots(client);
    } else {
      throw scriptError;
    }
  }
}
