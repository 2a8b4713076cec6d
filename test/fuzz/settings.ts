/**
 * How long and from which seed the fuzzers run, shared by both.
 *
 * - Under `npm test`: a fixed seed and a bounded number of runs, so CI is
 *   repeatable and quick.
 * - `npm run fuzz` (FUZZ_MINUTES, default 5): a random seed, as many runs
 *   as fit in that many minutes per property. The seed is printed first;
 *   a failure prints fast-check's shrunk counterexample with its seed and
 *   path, and the command that replays it.
 * - FUZZ_SEED (and FUZZ_PATH) replay a run exactly.
 *
 * @module
 */
import fc from "fast-check";

/** The seed of the bounded runs under `npm test`. */
export const CI_SEED = 20261202;

const minutes = process.env.FUZZ_MINUTES === undefined ? undefined : Number(process.env.FUZZ_MINUTES);
if (minutes !== undefined && !(minutes > 0)) throw new Error(`FUZZ_MINUTES must be a positive number (got ${process.env.FUZZ_MINUTES})`);

/** fast-check's replay path of a command sequence, for `fc.commands` (printed with a failure). */
export const COMMANDS_REPLAY_PATH = process.env.FUZZ_COMMANDS_PATH;

/** True under `npm run fuzz`. */
export const LONG_RUN = minutes !== undefined;

/** Mocha timeout for a fuzz test: the time budget plus room for the last run and shrinking. */
export function fuzzTimeout(ciMs: number): number {
  return LONG_RUN ? minutes! * 60_000 + 10 * 60_000 : ciMs;
}

/**
 * fast-check parameters for one property; `name` is its mocha test's full
 * title (the replay command greps for it), `ciRuns` the bounded number of
 * runs under `npm test`.
 */
export function fuzzParameters<T>(name: string, ciRuns: number): fc.Parameters<T> {
  const seed =
    process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : LONG_RUN ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : CI_SEED;
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer (got ${process.env.FUZZ_SEED})`);
  if (LONG_RUN) console.log(`      fuzz ${name}: seed ${seed}, ${minutes} min`);
  return {
    seed,
    path: process.env.FUZZ_PATH,
    numRuns: LONG_RUN ? Number.MAX_SAFE_INTEGER : ciRuns,
    interruptAfterTimeLimit: LONG_RUN ? minutes! * 60_000 : undefined,
    endOnFailure: process.env.FUZZ_PATH !== undefined,
    reporter(details) {
      if (!details.failed) {
        if (LONG_RUN) console.log(`      fuzz ${name}: ${details.numRuns} runs, no failure`);
        return;
      }
      const grep = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/"/g, '\\"');
      // A command sequence replays only with its own replay path as well (see COMMANDS_REPLAY_PATH).
      const commandsPath = /replayPath="([^"]+)"/.exec(String(details.counterexample))?.[1];
      const env = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ""}${commandsPath ? ` FUZZ_COMMANDS_PATH=${commandsPath}` : ""}`;
      const replay = `${env} npm run fuzz -- --grep "${grep}"`;
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`${fc.defaultReportMessage(details) ?? "property failed"}\n\nFailure: ${cause}\n\nReplay with: ${replay}`);
    },
  };
}
