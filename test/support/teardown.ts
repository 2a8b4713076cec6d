/**
 * Run-wide teardown registry. Shared fixtures (the shared Redis server, later
 * a Redis Cluster) register how to stop themselves here; the mocha global
 * teardown in `hooks.ts` runs them all once, after the last test.
 *
 * @module
 */

const tasks: Array<{ name: string; run: () => Promise<void> }> = [];

/** Registers `run` to be awaited at the end of the test run. */
export function onRunEnd(name: string, run: () => Promise<void>): void {
  tasks.push({ name, run });
}

/** Runs every registered task (newest first), each once; reports all failures together. */
export async function runEndTasks(): Promise<void> {
  const failures: string[] = [];
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    try {
      await task.run();
    } catch (err) {
      failures.push(`${task.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) throw new Error(`test teardown failed:\n${failures.join("\n")}`);
}
