/**
 * Mocha global fixtures, loaded through `.mocharc.json`'s `require` list.
 * Everything started lazily for the whole run (see `teardown.ts`) is stopped
 * here, once, after the last test.
 *
 * @module
 */
import { runEndTasks } from "./teardown.js";

export async function mochaGlobalTeardown(): Promise<void> {
  await runEndTasks();
}
