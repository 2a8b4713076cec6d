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
 * The script commands of either ioredis client; the `…Buffer` variants
 * (untyped in ioredis) answer bulk strings as Buffers. ioredis flattens
 * array arguments, so a script's keys and arguments are passed as the array
 * they were built in, never spread into a copy.
 */
export interface ScriptClient {
  evalsha(sha: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
  eval(source: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
  evalshaBuffer(sha: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
  evalBuffer(source: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
}

/**
 * Runs one script. With `raw`, bulk strings in the reply arrive as Buffers
 * (records are parsed by byte offsets); otherwise as strings.
 */
export function runScript(client: ScriptClient, script: Script, args: ScriptArgs, raw: boolean): Promise<unknown> {
  return sendScript(client, script, args, raw, false).catch((err: unknown) => {
    if (isNoScript(err)) return sendScript(client, script, args, raw, true);
    throw err;
  });
}

/** The script commands of a client or of a pipeline, whatever each returns. */
export type ScriptCommands<T> = Record<keyof ScriptClient, (script: string, numberOfKeys: number, args: ScriptArgs) => T>;

/** Sends (or, on a pipeline, queues) one script call: `EVALSHA`, or with `whole` the source with `EVAL`; their `…Buffer` forms with `raw`. */
export function sendScript<T>(target: ScriptCommands<T>, script: Script, args: ScriptArgs, raw: boolean, whole: boolean): T {
  if (whole)
    return raw ? target.evalBuffer(script.source, script.numberOfKeys, args) : target.eval(script.source, script.numberOfKeys, args);
  return raw ? target.evalshaBuffer(script.sha, script.numberOfKeys, args) : target.evalsha(script.sha, script.numberOfKeys, args);
}

/** Whether Redis answered that it does not hold the script (after a restart or `SCRIPT FLUSH`): then it is sent whole with `EVAL`. */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("NOSCRIPT");
}
