// After typedoc: every export of the package's entry points must carry an
// @example in its TSDoc (on itself or on its call signature). Lists the
// ones that do not and fails. With several entry points, typedoc's top
// level holds one module per entry point.
import { readFileSync } from "node:fs";

const api = JSON.parse(readFileSync(new URL("../docs/api/api.json", import.meta.url), "utf8"));
const MODULE = 2;
const exports = (api.children ?? []).flatMap((child) =>
  child.kind === MODULE ? (child.children ?? []).map((c) => ({ ...c, name: `${child.name}: ${c.name}` })) : [child],
);
const missing = [];
for (const item of exports) {
  const comments = [item, ...(item.signatures ?? [])].map((s) => s.comment).filter(Boolean);
  if (!comments.some((c) => (c.blockTags ?? []).some((t) => t.tag === "@example"))) missing.push(item.name);
}
if (missing.length > 0) {
  console.error(`exports without an @example in their TSDoc: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`docs/api: ${exports.length} exports, each with an example`);
