/**
 * The store's Lua scripts, each prepared once with its SHA-1, and the one
 * way they are run: `EVALSHA`, then `EVAL` once when Redis answers
 * `NOSCRIPT` (after a restart or `SCRIPT FLUSH`). The scripts' sources are
 * `../scripts/*.lua`, embedded at build time; each documents its KEYS, ARGV
 * and replies in its header.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as sources from "../scripts/index.js";

/** A script with its SHA-1, computed once. */
export interface Script {
  readonly numberOfKeys: number;
  readonly source: string;
  readonly sha: string;
}

function prepare(script: { numberOfKeys: number; source: string }): Script {
  return { numberOfKeys: script.numberOfKeys, source: script.source, sha: createHash("sha1").update(script.source).digest("hex") };
}

/** Every script the store runs. */
export const SCRIPTS = Object.freeze({
  create: prepare(sources.create),
  check: prepare(sources.check),
  rotate: prepare(sources.rotate),
  revokeByRefresh: prepare(sources.revokeByRefresh),
  get: prepare(sources.get),
  list: prepare(sources.list),
  revoke: prepare(sources.revoke),
  revokeAll: prepare(sources.revokeAll),
});

/** Keys and arguments of one script call, in the script's KEYS then ARGV order. */
export type ScriptArgs = (string | number)[];

/**
 * The script commands of either ioredis client, or of one of its pipelines
 * (`R` is what a call returns: a promise, or the pipeline); the `…Buffer`
 * variants (untyped in ioredis) answer bulk strings as Buffers. ioredis
 * flattens array arguments, so a script's keys and arguments are passed as
 * the array they were built in, never spread into a copy.
 */
export interface ScriptSender<R> {
  evalsha(sha: string, numberOfKeys: number, args: ScriptArgs): R;
  eval(source: string, numberOfKeys: number, args: ScriptArgs): R;
  evalshaBuffer(sha: string, numberOfKeys: number, args: ScriptArgs): R;
  evalBuffer(source: string, numberOfKeys: number, args: ScriptArgs): R;
}

/** One ioredis pipeline (of a `Redis` or a `Cluster`): the script commands and `call`, queued, and `exec`. */
export interface ScriptPipeline extends ScriptSender<ScriptPipeline> {
  call(command: string, ...args: (string | number)[]): ScriptPipeline;
  /** One `[error, reply]` pair per queued command, in order. */
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** The script commands of either ioredis client. */
export type ScriptClient = ScriptSender<Promise<unknown>>;

/**
 * Sends one script call: by its SHA-1 (`EVALSHA`), or with `bySource` by
 * its source (`EVAL`). With `raw`, bulk strings in the reply arrive as
 * Buffers (records are parsed by byte offsets); otherwise as strings.
 */
export function sendScript<R>(target: ScriptSender<R>, script: Script, args: ScriptArgs, raw: boolean, bySource: boolean): R {
  if (bySource)
    return raw ? target.evalBuffer(script.source, script.numberOfKeys, args) : target.eval(script.source, script.numberOfKeys, args);
  return raw ? target.evalshaBuffer(script.sha, script.numberOfKeys, args) : target.evalsha(script.sha, script.numberOfKeys, args);
}

/** Whether Redis answered that it does not hold the script (after a restart or `SCRIPT FLUSH`). */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("NOSCRIPT");
}

/** Runs one script: `EVALSHA`, then `EVAL` once when Redis answers `NOSCRIPT`. */
export function runScript(client: ScriptClient, script: Script, args: ScriptArgs, raw: boolean): Promise<unknown> {
  return sendScript(client, script, args, raw, false).catch((err: unknown) => {
    if (isNoScript(err)) return sendScript(client, script, args, raw, true);
    throw err;
  });
}
