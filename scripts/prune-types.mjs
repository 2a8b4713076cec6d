// After both builds: keep only the declaration files that the package's
// entry points reach. The others describe internals (the embedded Lua
// scripts among them) that users never import, and would only weigh down
// the tarball and invite imports of private paths.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY_POINTS = ["index.d.ts", "testing/index.d.ts", "metrics/index.d.ts"];
const dist = fileURLToPath(new URL("../dist/", import.meta.url));
// `from "./x.js"` (imports and re-exports), `import("./x.js")` (inline
// import types) and `import "./x.js"` (the global augmentation of Express).
const REFERENCE = /(?:from\s+|import\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;

for (const build of ["esm", "cjs"]) {
  const root = join(dist, build);
  const reached = new Set();
  const queue = ENTRY_POINTS.map((entry) => join(root, entry));
  while (queue.length > 0) {
    const file = queue.pop();
    if (reached.has(file)) continue;
    if (!existsSync(file)) throw new Error(`prune-types: ${relative(dist, file)} is referenced but was not built`);
    reached.add(file);
    for (const [, specifier] of readFileSync(file, "utf8").matchAll(REFERENCE)) {
      queue.push(resolve(dirname(file), specifier.replace(/\.js$/, ".d.ts")));
    }
  }
  let removed = 0;
  for (const entry of readdirSync(root, { recursive: true })) {
    const file = join(root, String(entry));
    if (file.endsWith(".d.ts") && !reached.has(file)) {
      rmSync(file);
      removed++;
    }
  }
  console.log(`prune-types: ${build}: kept ${reached.size} declaration files, removed ${removed}`);
}
