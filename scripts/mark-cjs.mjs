// The CommonJS build lives below a package that says "type": "module"; this
// marker makes Node read dist/cjs as CommonJS.
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), '{ "type": "commonjs" }\n');
