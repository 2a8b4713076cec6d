// npm run fuzz [-- test files and mocha options]: the fuzzers of test/fuzz
// with a random seed (or FUZZ_SEED) and a time budget (FUZZ_MINUTES per
// property), outside the normal test run. See docs/fuzzing.md.
//
// Runs mocha without .mocharc.json, whose spec list would add every other
// test file to the ones named here.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const files = args.some((arg) => arg.endsWith(".ts")) ? [] : ["test/fuzz/*.test.ts"];
const mocha = require.resolve("mocha/bin/mocha.js");
const result = spawnSync(
  process.execPath,
  [
    mocha,
    "--no-config",
    "--node-option",
    "import=tsx",
    "--require",
    "test/support/hooks.ts",
    "--timeout",
    "0",
    "--exit",
    ...files,
    ...args,
  ],
  { stdio: "inherit", env: { ...process.env, FUZZ_LONG: "1" } },
);
if (result.error) throw result.error;
process.exit(result.status ?? 1);
