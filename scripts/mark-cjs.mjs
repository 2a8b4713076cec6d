// After the CommonJS build. It lives below a package that says
// "type": "module", so a marker makes Node read dist/cjs as CommonJS. And
// TypeScript copies `import.meta.url` into CommonJS output unchanged (a
// syntax error there), so the one place that needs its own location
// (createRequire in optional-peer.ts) gets `__filename` instead.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../dist/cjs/", import.meta.url));
writeFileSync(join(root, "package.json"), '{ "type": "commonjs" }\n');

let rewritten = 0;
for (const entry of readdirSync(root, { recursive: true })) {
  const file = join(root, String(entry));
  if (!file.endsWith(".js")) continue;
  const source = readFileSync(file, "utf8");
  if (!source.includes("import.meta")) continue;
  const fixed = source.replaceAll("createRequire)(import.meta.url)", "createRequire)(__filename)");
  if (fixed.includes("import.meta")) {
    console.error(`mark-cjs: ${String(entry)} uses import.meta in a way the CommonJS build cannot rewrite`);
    process.exit(1);
  }
  writeFileSync(file, fixed);
  rewritten++;
}
if (rewritten !== 1) {
  console.error(`mark-cjs: expected one module to rewrite (optional-peer.js), found ${rewritten}`);
  process.exit(1);
}
