// Loaded by mocha before the tests (see .mocharc.json). With
// SESSION_GUARD_TEST_EXPRESS=4 (`npm run test:express4`), every import of
// "express" — the tests' and the library's own — resolves to Express 4
// (the `express4` devDependency, an npm alias), so the HTTP suites run on
// both major versions the package supports. Mocha may load a test file
// through `require` (tsx compiles it on the fly) or through `import`, so
// both resolvers are redirected.
import Module, { register } from "node:module";

const version = process.env.SESSION_GUARD_TEST_EXPRESS ?? "5";
if (version !== "4" && version !== "5") throw new Error(`SESSION_GUARD_TEST_EXPRESS must be 4 or 5 (got ${version})`);
if (version === "4") {
  register(
    "data:text/javascript," +
      encodeURIComponent(
        'export function resolve(specifier, context, next) { return next(specifier === "express" ? "express4" : specifier, context); }',
      ),
  );
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return resolveFilename.call(this, request === "express" ? "express4" : request, ...rest);
  };
}
