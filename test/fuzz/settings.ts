/**
 * How the fuzzers run: one place for the environment switches both of them
 * read.
 *
 * - Under `npm test` (no `FUZZ_LONG`): each property runs a fixed seed and a
 *   bounded number of runs, so the suite stays fast and deterministic.
 * - `npm run fuzz` (`FUZZ_LONG=1`): a random seed (or `FUZZ_SEED`), and runs
 *   in chunks of `chunkRuns` until `FUZZ_MINUTES` (per property, default 1)
 *   have passed. Chunk `k` runs with seed `seed + k`, so every chunk replays
 *   on its own. `FUZZ_RUNS` caps the runs instead of the clock.
 * - Replay a failure: `FUZZ_SEED=<seed> FUZZ_PATH=<path> npm run fuzz`, with the
 *   seed and path printed in the failure (fast-check then runs the shrunk
 *   counterexample directly). A model run also needs `FUZZ_REPLAY_PATH`, the
 *   commands' own replay path (`replayPath` in the counterexample); the
 *   printed replay command has all three.
 *
 * Chunks rather than fast-check's `interruptAfterTimeLimit`: an interrupt
 * abandons the run in flight (its requests keep going behind the next one)
 * and cuts shrinking short.
 *
 * @module
 */
import fc from "fast-check";

/** True under `npm run fuzz`. */
export const LONG = process.env.FUZZ_LONG === "1";

/** Defaults of one property under `npm test`. */
export interface FuzzDefaults {
  /** The fixed seed under `npm test`. */
  seed: number;
  /** Runs under `npm test`. */
  numRuns: number;
  /** Runs per chunk under `npm run fuzz`. */
  chunkRuns: number;
}

/** What one property did: runs, chunks, the seeds, the time. */
export interface FuzzSummary {
  name: string;
  seed: number;
  chunks: number;
  runs: number;
  ms: number;
}

function intFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer (got ${JSON.stringify(text)})`);
  return value;
}

function minutesFromEnv(): number {
  const text = process.env.FUZZ_MINUTES;
  if (text === undefined || text === "") return 1;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`FUZZ_MINUTES must be a positive number (got ${JSON.stringify(text)})`);
  return value;
}

/** `replayPath` for `fc.commands` when replaying a model run. */
export const COMMANDS_REPLAY_PATH = process.env.FUZZ_REPLAY_PATH || undefined;

/** The mocha timeout a property needs: none in long mode, `ms` otherwise. */
export function fuzzTimeout(ms: number): number {
  return LONG ? 0 : ms;
}

/** The command that replays a failing run. */
export function replayCommand(seed: number, path: string | undefined, replayPath: string | undefined, file: string): string {
  const env = [`FUZZ_SEED=${seed}`, path && `FUZZ_PATH=${path}`, replayPath && `FUZZ_REPLAY_PATH='${replayPath}'`]
    .filter(Boolean)
    .join(" ");
  return `${env} npm run fuzz -- ${file}`;
}

/**
 * Checks `property` with the settings of the mode, prints the seed (and on
 * failure the shrunk counterexample and the replay command), and throws on a
 * failure. `file` is the test file, for the replay command.
 */
export async function fuzz<T>(name: string, file: string, property: fc.IAsyncProperty<T>, defaults: FuzzDefaults): Promise<FuzzSummary> {
  const started = Date.now();
  const envSeed = intFromEnv("FUZZ_SEED");
  const path = process.env.FUZZ_PATH || undefined;
  const seed = envSeed ?? (LONG ? (Math.random() * 2 ** 31) | 0 : defaults.seed);
  const maxRuns = intFromEnv("FUZZ_RUNS");
  const deadline = started + minutesFromEnv() * 60_000;
  const log = (line: string) => {
    if (LONG || process.env.FUZZ_VERBOSE === "1") console.log(`      [fuzz] ${name}: ${line}`);
  };
  log(LONG ? `seed ${seed}, ${maxRuns === undefined ? `${minutesFromEnv()} min` : `${maxRuns} runs`}` : `seed ${seed}`);

  let runs = 0;
  let chunks = 0;
  for (;;) {
    const chunkSeed = (seed + chunks) | 0;
    const numRuns =
      !LONG || path !== undefined ? (maxRuns ?? defaults.numRuns) : Math.min(defaults.chunkRuns, (maxRuns ?? Infinity) - runs);
    if (numRuns <= 0) break;
    const details = await fc.check(property, { seed: chunkSeed, path, numRuns, endOnFailure: false });
    chunks++;
    runs += details.numRuns;
    if (details.failed) {
      const report = fc.defaultReportMessage(details) ?? "failed";
      const replayPath = /replayPath="([^"]+)"/.exec(report)?.[1];
      const replay = replayCommand(chunkSeed, details.counterexamplePath ?? undefined, replayPath, file);
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      const message = `${name} failed (seed ${chunkSeed}, after ${runs} runs)\n${report}\n\nError: ${error}\n\nReplay: ${replay}\n`;
      console.log(`\n${message}`);
      throw new Error(message);
    }
    if (!LONG || path !== undefined || Date.now() >= deadline) break;
  }
  const ms = Date.now() - started;
  log(`${runs} runs in ${chunks} chunk(s), seeds ${seed}..${(seed + chunks - 1) | 0}, ${(ms / 1000).toFixed(1)} s`);
  return { name, seed, chunks, runs, ms };
}

/** Prints how often each outcome came up (long or verbose mode only): what the fuzzer reached. */
export function printOutcomes(name: string, outcomes: Map<string, number>): void {
  if (!LONG && process.env.FUZZ_VERBOSE !== "1") return;
  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  console.log(`      [fuzz] ${name}: outcomes (${total})`);
  for (const [outcome, count] of [...outcomes].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    console.log(`        ${String(count).padStart(7)}  ${outcome}`);
}
